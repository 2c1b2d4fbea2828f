/*
 * test_unsub_tmpl.c - List-Unsubscribe templates and percent-encoding
 *
 * Proves: templates are refused at parse time for the wrong scheme,
 * unknown or forbidden placeholders and characters that cannot appear in a
 * URI; substituted values are percent-encoded with only RFC 3986
 * unreserved characters left, so CR, LF, NUL, '<' and '>' from a value
 * never reach the result; decoding refuses bad escapes and %00.
 */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "unsub/unsub_tmpl.h"

int main(void);

typedef struct parse_case {
    const char *text;
    unsub_tmpl_kind kind;
    unsigned allowed;
    unsigned uses;   /* expected bits when ok */
    const char *err; /* NULL: must parse */
} parse_case;

static const parse_case parse_cases[] = {
    {"https://u.example.com/u?r=%{recipient}&t=%{token}", UNSUB_TMPL_HTTPS, UNSUB_PH_ALL,
     UNSUB_PH_RECIPIENT | UNSUB_PH_TOKEN, NULL},
    {"HTTPS://u.example.com/%{list_id}/%{message_id}/%{sender}/%{sender_domain}", UNSUB_TMPL_HTTPS,
     UNSUB_PH_ALL,
     UNSUB_PH_LIST_ID | UNSUB_PH_MESSAGE_ID | UNSUB_PH_SENDER | UNSUB_PH_SENDER_DOMAIN, NULL},
    {"https://u.example.com/%41%2f;a=b,c!$'()*+@:", UNSUB_TMPL_HTTPS, UNSUB_PH_ALL, 0, NULL},
    {"http://u.example.com/", UNSUB_TMPL_HTTPS, UNSUB_PH_ALL, 0, "https://"},
    {"http://u.example.com/", UNSUB_TMPL_HTTP, UNSUB_PH_ALL, 0, NULL},
    {"ftp://u.example.com/", UNSUB_TMPL_HTTP, UNSUB_PH_ALL, 0, "must start with https://"},
    {"https://", UNSUB_TMPL_HTTPS, UNSUB_PH_ALL, 0, "no host"},
    {"https:///path", UNSUB_TMPL_HTTPS, UNSUB_PH_ALL, 0, "no host"},
    {"https://u.example.com/%{bogus}", UNSUB_TMPL_HTTPS, UNSUB_PH_ALL, 0,
     "unknown placeholder %{bogus}"},
    {"https://u.example.com/%{Recipient}", UNSUB_TMPL_HTTPS, UNSUB_PH_ALL, 0,
     "unknown placeholder"},
    {"https://u.example.com/%{recipient", UNSUB_TMPL_HTTPS, UNSUB_PH_ALL, 0, "unterminated"},
    {"https://u.example.com/a b", UNSUB_TMPL_HTTPS, UNSUB_PH_ALL, 0, "character ' '"},
    {"https://u.example.com/<a>", UNSUB_TMPL_HTTPS, UNSUB_PH_ALL, 0, "character '<'"},
    {"https://u.example.com/a>", UNSUB_TMPL_HTTPS, UNSUB_PH_ALL, 0, "character '>'"},
    {"https://u.example.com/\"", UNSUB_TMPL_HTTPS, UNSUB_PH_ALL, 0, "character '\"'"},
    {"https://u.example.com/\r\nBcc: x", UNSUB_TMPL_HTTPS, UNSUB_PH_ALL, 0, "byte 0x0d"},
    {"https://u.example.com/%zz", UNSUB_TMPL_HTTPS, UNSUB_PH_ALL, 0, "neither %XX"},
    {"https://u.example.com/%4", UNSUB_TMPL_HTTPS, UNSUB_PH_ALL, 0, "neither %XX"},
    {"https://u.example.com/%{recipient}", UNSUB_TMPL_HTTPS,
     UNSUB_PH_ALL & ~(UNSUB_PH_RECIPIENT | UNSUB_PH_TOKEN), 0, "%{recipient} is not allowed"},
    {"mailto:unsub@example.com?subject=%{list_id}", UNSUB_TMPL_MAILTO, UNSUB_PH_ALL,
     UNSUB_PH_LIST_ID, NULL},
    {"https://u.example.com/", UNSUB_TMPL_MAILTO, UNSUB_PH_ALL, 0, "mailto:"},
    {"mailto:", UNSUB_TMPL_MAILTO, UNSUB_PH_ALL, 0, "no host"},
    {"news.%{sender_domain}", UNSUB_TMPL_TEXT, UNSUB_PH_SENDER | UNSUB_PH_SENDER_DOMAIN,
     UNSUB_PH_SENDER_DOMAIN, NULL},
    {"news.%{token}", UNSUB_TMPL_TEXT, UNSUB_PH_SENDER | UNSUB_PH_SENDER_DOMAIN, 0,
     "%{token} is not allowed"},
    {"", UNSUB_TMPL_TEXT, UNSUB_PH_ALL, 0, "must not be empty"},
};

static void
test_unsub_tmpl_parse_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(parse_cases) / sizeof(parse_cases[0]); i++) {
        const parse_case *c = &parse_cases[i];
        char err[256] = "";
        unsub_tmpl *t = unsub_tmpl_parse(c->text, c->kind, c->allowed, err, sizeof(err));
        if (c->err == NULL) {
            if (t == NULL)
                fail_msg("case %zu \"%s\": unexpected error: %s", i, c->text, err);
            assert_int_equal(unsub_tmpl_uses(t), c->uses);
            assert_string_equal(unsub_tmpl_text(t), c->text);
        } else {
            if (t != NULL)
                fail_msg("case %zu \"%s\": parsed but should fail with '%s'", i, c->text, c->err);
            if (strstr(err, c->err) == NULL)
                fail_msg("case %zu \"%s\": error '%s' lacks '%s'", i, c->text, err, c->err);
        }
        unsub_tmpl_free(t);
    }
}

typedef struct enc_case {
    const char *in, *out;
} enc_case;

static const enc_case enc_cases[] = {
    {"user@example.com", "user%40example.com"},
    {"AZaz09-._~", "AZaz09-._~"},
    {"a b+c", "a%20b%2Bc"},
    {"x\r\nBcc: evil@example.net", "x%0D%0ABcc%3A%20evil%40example.net"},
    {"<a>", "%3Ca%3E"},
    {"100%", "100%25"},
    {"\xc3\xa9t\xc3\xa9", "%C3%A9t%C3%A9"},
    {"/?#[]&=", "%2F%3F%23%5B%5D%26%3D"},
    {"", ""},
};

static void
test_unsub_tmpl_pctenc_keeps_only_unreserved(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(enc_cases) / sizeof(enc_cases[0]); i++) {
        char *out = unsub_tmpl_pctenc(enc_cases[i].in);
        assert_string_equal(out, enc_cases[i].out);
        free(out);
    }
}

typedef struct dec_case {
    const char *in;
    int plus_space;
    const char *out; /* NULL: must be refused */
} dec_case;

static const dec_case dec_cases[] = {
    {"a%20b", 0, "a b"}, {"a+b", 1, "a b"},
    {"a+b", 0, "a+b"},   {"%3c%3E", 0, "<>"},
    {"%zz", 0, NULL},    {"abc%4", 0, NULL},
    {"abc%", 0, NULL},   {"a%00b", 0, NULL},
    {"", 0, ""},         {"List-Unsubscribe=One-Click", 1, "List-Unsubscribe=One-Click"},
};

static void
test_unsub_tmpl_pctdec_refuses_bad_escapes(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(dec_cases) / sizeof(dec_cases[0]); i++) {
        const dec_case *c = &dec_cases[i];
        char *out = unsub_tmpl_pctdec(c->in, strlen(c->in), c->plus_space);
        if (c->out == NULL) {
            if (out != NULL)
                fail_msg("case %zu \"%s\": decoded to \"%s\" but should fail", i, c->in, out);
        } else {
            assert_non_null(out);
            assert_string_equal(out, c->out);
        }
        free(out);
    }
}

typedef struct exp_case {
    const char *tmpl;
    unsub_tmpl_vars v;
    const char *out; /* NULL: expansion must fail */
    const char *err;
} exp_case;

static const exp_case exp_cases[] = {
    {"https://u.example.com/u?r=%{recipient}&l=%{list_id}",
     {"alice@example.org", NULL, NULL, "news", NULL, NULL},
     "https://u.example.com/u?r=alice%40example.org&l=news",
     NULL},
    /* header injection through the recipient */
    {"https://u.example.com/u?r=%{recipient}",
     {"a@b.example\r\nBcc: evil@example.net", NULL, NULL, NULL, NULL, NULL},
     "https://u.example.com/u?r=a%40b.example%0D%0ABcc%3A%20evil%40example.net",
     NULL},
    /* breaking out of <...> through the message id */
    {"https://u.example.com/m/%{message_id}",
     {NULL, NULL, NULL, NULL, "x>, <https://evil.example/", NULL},
     "https://u.example.com/m/x%3E%2C%20%3Chttps%3A%2F%2Fevil.example%2F",
     NULL},
    {"mailto:u@example.com?subject=%{sender}%{sender_domain}",
     {NULL, "s@d.example", "d.example", NULL, NULL, NULL},
     "mailto:u@example.com?subject=s%40d.exampled.example",
     NULL},
    {"https://u.example.com/t/%{token}",
     {NULL, NULL, NULL, NULL, NULL, "AQ-_x.y"},
     "https://u.example.com/t/AQ-_x.y",
     NULL},
    {"https://u.example.com/m/%{message_id}",
     {"r@x.example", NULL, NULL, NULL, NULL, NULL},
     NULL,
     "no value for %{message_id}"},
    {"https://u.example.com/m/%{recipient}",
     {"", NULL, NULL, NULL, NULL, NULL},
     NULL,
     "no value for %{recipient}"},
};

static void
test_unsub_tmpl_expand_encodes_values(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(exp_cases) / sizeof(exp_cases[0]); i++) {
        const exp_case *c = &exp_cases[i];
        char err[256] = "", *out;
        unsub_tmpl *t = unsub_tmpl_parse(
            c->tmpl, strncmp(c->tmpl, "mailto:", 7) == 0 ? UNSUB_TMPL_MAILTO : UNSUB_TMPL_HTTPS,
            UNSUB_PH_ALL, err, sizeof(err));
        assert_non_null(t);
        out = unsub_tmpl_expand(t, &c->v, err, sizeof(err));
        if (c->out != NULL) {
            if (out == NULL)
                fail_msg("case %zu: %s", i, err);
            assert_string_equal(out, c->out);
            assert_null(strpbrk(out, "\r\n<> \""));
        } else {
            assert_null(out);
            assert_non_null(strstr(err, c->err));
        }
        free(out);
        unsub_tmpl_free(t);
    }
}

static void
test_unsub_tmpl_every_byte_is_safe_after_expansion(void **state)
{
    char val[2] = {0, 0}, err[128];
    unsub_tmpl_vars v = {val, NULL, NULL, NULL, NULL, NULL};
    unsub_tmpl *t = unsub_tmpl_parse("https://u.example.com/%{recipient}", UNSUB_TMPL_HTTPS,
                                     UNSUB_PH_ALL, err, sizeof(err));

    (void)state;
    assert_non_null(t);
    for (int b = 1; b < 256; b++) {
        char *out;
        val[0] = (char)b;
        out = unsub_tmpl_expand(t, &v, err, sizeof(err));
        assert_non_null(out);
        for (const unsigned char *p = (const unsigned char *)out; *p; p++)
            if (*p < 0x21 || *p > 0x7e || *p == '<' || *p == '>')
                fail_msg("byte 0x%02x leaked as 0x%02x into \"%s\"", b, *p, out);
        free(out);
    }
    unsub_tmpl_free(t);
}

static void
test_unsub_tmpl_null_inputs_are_errors(void **state)
{
    char err[128];

    (void)state;
    assert_null(unsub_tmpl_parse(NULL, UNSUB_TMPL_HTTPS, UNSUB_PH_ALL, err, sizeof(err)));
    assert_null(unsub_tmpl_expand(NULL, NULL, err, sizeof(err)));
    assert_null(unsub_tmpl_free(NULL));
    assert_int_equal(unsub_tmpl_uses(NULL), 0);
    assert_string_equal(unsub_tmpl_ph_name(UNSUB_PH_TOKEN), "token");
    assert_null(unsub_tmpl_ph_name(0x1000));
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_unsub_tmpl_parse_table),
        cmocka_unit_test(test_unsub_tmpl_pctenc_keeps_only_unreserved),
        cmocka_unit_test(test_unsub_tmpl_pctdec_refuses_bad_escapes),
        cmocka_unit_test(test_unsub_tmpl_expand_encodes_values),
        cmocka_unit_test(test_unsub_tmpl_every_byte_is_safe_after_expansion),
        cmocka_unit_test(test_unsub_tmpl_null_inputs_are_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
