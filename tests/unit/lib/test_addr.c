/*
 * test_addr.c - unit tests for the address parser (src/lib/addr.c, src/lib/rfc2047.c)
 *
 * Purpose: table-driven checks of addr_parse_field (RFC 5322 Appendix A,
 * the quoted-local-part trap, comments, groups, RFC 2047 words, obsolete
 * syntax, RFC 6532 UTF-8, every malformed class documented in addr.h),
 * addr_parse_path, addr_strip_label and addr_quote_local.
 *
 * A field result is compared as one string: mailboxes joined by " | ",
 * each "address {display} [group]" with the braces/brackets left out when
 * the member is NULL.
 */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "lib/addr.h"
#include "lib/rfc2047.h"
#include "lib/util.h"

typedef struct field_case {
    const char *what; /* what the case proves */
    const char *in;
    size_t len; /* 0: strlen(in) */
    addr_status st;
    const char *want; /* serialised mailboxes (ADDR_OK only) */
} field_case;

/* describe - serialise a list as "address {display} [group] | ..." */
static char *
describe(const addr_list *l)
{
    char *s = xstrdup(""), *t;
    size_t i;

    for (i = 0; i < l->n; i++) {
        const addr_mailbox *m = &l->v[i];
        t = xasprintf("%s%s%s%s%s%s%s%s%s", s, i ? " | " : "", m->address, m->display ? " {" : "",
                      m->display ? m->display : "", m->display ? "}" : "", m->group ? " [" : "",
                      m->group ? m->group : "", m->group ? "]" : "");
        free(s);
        s = t;
    }
    return s;
}

static void
run_field_cases(const field_case *c, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++) {
        char err[256] = "";
        addr_list *l = (addr_list *)1;
        size_t len = c[i].len ? c[i].len : strlen(c[i].in);
        addr_status st = addr_parse_field(c[i].in, len, &l, err, sizeof(err));
        if (st != c[i].st)
            fail_msg("%s: \"%s\": status %s (%s), want %s", c[i].what, c[i].in,
                     addr_status_name(st), err, addr_status_name(c[i].st));
        if (st == ADDR_SYNTAX) {
            assert_null(l);
            assert_true(err[0] != '\0');
            continue;
        }
        assert_non_null(l);
        if (st == ADDR_EMPTY) {
            assert_int_equal(l->n, 0);
        } else {
            char *got = describe(l);
            if (strcmp(got, c[i].want) != 0)
                fail_msg("%s: \"%s\":\n  got  %s\n  want %s", c[i].what, c[i].in, got, c[i].want);
            free(got);
        }
        assert_null(addr_list_free(l));
    }
}

#define RUN(table) run_field_cases(table, SM_ARRAY_LEN(table))

static void
test_addr_rfc5322_appendix_a(void **state)
{
    static const field_case c[] = {
        {"A.1.1 name-addr", "John Doe <jdoe@machine.example>", 0, ADDR_OK,
         "jdoe@machine.example {John Doe}"},
        {"A.1.2 quoted display name with dots", "\"Joe Q. Public\" <john.q.public@example.com>", 0,
         ADDR_OK, "john.q.public@example.com {Joe Q. Public}"},
        {"A.1.2 list with bare addr-spec and '?'",
         "Mary Smith <mary@x.test>, jdoe@example.org, Who? <one@y.test>", 0, ADDR_OK,
         "mary@x.test {Mary Smith} | jdoe@example.org | one@y.test {Who?}"},
        {"A.1.2 quoted-pairs and ';' in quotes",
         "<boss@nil.test>, \"Giant; \\\"Big\\\" Box\" <sysservices@example.net>", 0, ADDR_OK,
         "boss@nil.test | sysservices@example.net {Giant; \"Big\" Box}"},
        {"A.1.3 group", "A Group:Ed Jones <c@a.test>,joe@where.test,John <jdoe@one.test>;", 0,
         ADDR_OK,
         "c@a.test {Ed Jones} [A Group] | joe@where.test [A Group] | jdoe@one.test {John} [A "
         "Group]"},
        {"A.1.3 empty group", "Undisclosed recipients:;", 0, ADDR_EMPTY, NULL},
        {"A.2 ':' in quoted name, space before '>'",
         "\"Mary Smith: Personal Account\" <smith@home.example >", 0, ADDR_OK,
         "smith@home.example {Mary Smith: Personal Account}"},
        {"A.5 comments everywhere",
         "Pete(A nice \\) chap) <pete(his account)@silly.test(his host)>", 0, ADDR_OK,
         "pete@silly.test {Pete}"},
        {"A.5 group with comments and folding",
         "A Group(Some people)\r\n     :Chris Jones <c@(Chris's host.)public.example>,\r\n"
         "         joe@example.org,\r\n  John <jdoe@one.test> (my dear friend); (the end of "
         "the group)",
         0, ADDR_OK,
         "c@public.example {Chris Jones} [A Group] | joe@example.org [A Group] | jdoe@one.test "
         "{John} [A Group]"},
        {"A.5 empty group in comments",
         "(Empty list)(start)Hidden recipients  :(nobody(that I know))  ;", 0, ADDR_EMPTY, NULL},
        {"A.6.1 obs-phrase with '.'", "Joe Q. Public <john.q.public@example.com>", 0, ADDR_OK,
         "john.q.public@example.com {Joe Q. Public}"},
        {"A.6.1 obs-route, empty element, CFWS in obs-domain",
         "Mary Smith <@node.test:mary@example.net>, , jdoe@test  . example", 0, ADDR_OK,
         "mary@example.net {Mary Smith} | jdoe@test.example"},
        {"A.6.3 comment inside obs-domain", "John Doe <jdoe@machine(comment).  example>", 0,
         ADDR_OK, "jdoe@machine.example {John Doe}"},
        {"A.6.3 blank folded line before '<'", "Mary Smith\n    \n\t<mary@example.net>", 0, ADDR_OK,
         "mary@example.net {Mary Smith}"},
    };
    (void)state;
    RUN(c);
}

static void
test_addr_quoted_local_part_is_not_the_address(void **state)
{
    static const field_case c[] = {
        {"quoted local part holding an angle address belongs to the outer domain",
         "\"Someone <x@junk.com>\"@mydomain.com", 0, ADDR_OK,
         "\"Someone <x@junk.com>\"@mydomain.com"},
        {"plain name-addr is the inner domain", "Someone <x@junk.com>", 0, ADDR_OK,
         "x@junk.com {Someone}"},
        {"quoted display name holding an address is only a name",
         "\"boss@mydomain.com\" <x@junk.com>", 0, ADDR_OK, "x@junk.com {boss@mydomain.com}"},
        {"quoted name with angle address inside is only a name",
         "\"<boss@mydomain.com>\" <x@junk.com>", 0, ADDR_OK, "x@junk.com {<boss@mydomain.com>}"},
        {"quoted local part with escaped quote", "\"a\\\"b <c@d>\"@e.test", 0, ADDR_OK,
         "\"a\\\"b <c@d>\"@e.test"},
        {"quoted words mixed with atoms in obs-local-part", "\"a b\".c@d.test", 0, ADDR_OK,
         "\"a b.c\"@d.test"},
        {"quoted local part that is a dot-atom loses its quotes", "\"john.doe\"@d.test", 0, ADDR_OK,
         "john.doe@d.test"},
        {"a phrase then a bare addr-spec is refused", "\"Johnson, Joe <joe@joe.com>\" joe@x.test",
         0, ADDR_SYNTAX, NULL},
        {"unquoted comma in a name is refused", "Smith, John <j@x.test>", 0, ADDR_SYNTAX, NULL},
        {"nested angle brackets are refused", "<<<><joe@joe.com>>>", 0, ADDR_SYNTAX, NULL},
        {"a second '<' inside an angle address is refused", "A <b <c@d.test>>", 0, ADDR_SYNTAX,
         NULL},
        {"'@' in an unquoted name starts another address", "x@junk.com <y@mine.test>", 0, ADDR_OK,
         "x@junk.com | y@mine.test"},
    };
    (void)state;
    RUN(c);
}

static void
test_addr_comments_anywhere_cfws_is_allowed(void **state)
{
    static const field_case c[] = {
        {"comments around local part and domain", "pete(his account)@silly.test(his host)", 0,
         ADDR_OK, "pete@silly.test"},
        {"nested comments", "(a (b (c) d) e) x@y.test (f (g))", 0, ADDR_OK, "x@y.test"},
        {"comment before '@'", "x (c) @ (d) y.test", 0, ADDR_OK, "x@y.test"},
        {"comment separates words in a name", "Pete(x)Smith <p@s.test>", 0, ADDR_OK,
         "p@s.test {Pete Smith}"},
        {"quoted-pair of ')' in comment", "(a\\)b) x@y.test", 0, ADDR_OK, "x@y.test"},
        {"comment with comma and '@'", "(,) joe@joe.com", 0, ADDR_OK, "joe@joe.com"},
        {"comment holding an address is not an address", "(evil@x.test) a@b.test", 0, ADDR_OK,
         "a@b.test"},
        {"unterminated comment", "a@b.test (oops", 0, ADDR_SYNTAX, NULL},
        {"unterminated nested comment", "a@b.test ((x)", 0, ADDR_SYNTAX, NULL},
        {"stray ')'", "a@b.test )", 0, ADDR_SYNTAX, NULL},
        {"comment ending in backslash", "(x\\", 0, ADDR_SYNTAX, NULL},
    };
    (void)state;
    RUN(c);
}

static void
test_addr_groups(void **state)
{
    static const field_case c[] = {
        {"empty group", "undisclosed:;", 0, ADDR_EMPTY, NULL},
        {"empty group with space", "undisclosed recipients: ;", 0, ADDR_EMPTY, NULL},
        {"two groups and plain mailboxes without commas between",
         "L1: a@t.test; L2: b@t.test, c@t.test; d@t.test", 0, ADDR_OK,
         "a@t.test [L1] | b@t.test [L2] | c@t.test [L2] | d@t.test"},
        {"quoted group name", "\"List: 1\": a@t.test;", 0, ADDR_OK, "a@t.test [List: 1]"},
        {"encoded group name", "=?utf-8?q?Caf=C3=A9?=: a@t.test;", 0, ADDR_OK, "a@t.test [Café]"},
        {"group member with display name and empty elements", "G: , A <a@t.test>, ,;", 0, ADDR_OK,
         "a@t.test {A} [G]"},
        {"mailbox then empty group", "a@t.test, G:;", 0, ADDR_OK, "a@t.test"},
        {"group without ';' is refused", "Mail From:<joe@joe.com>", 0, ADDR_SYNTAX, NULL},
        {"nested group is refused", "A: B: c@d.test;;", 0, ADDR_SYNTAX, NULL},
        {"group without a name is refused", ": a@b.test;", 0, ADDR_SYNTAX, NULL},
        {"group inside angle brackets is refused", "<Undisclosed-Recipient:@mailman.test;>", 0,
         ADDR_SYNTAX, NULL},
        {"stray ';' at top level is refused", "a@b.test;", 0, ADDR_SYNTAX, NULL},
    };
    (void)state;
    RUN(c);
}

static void
test_addr_encoded_words(void **state)
{
    static const field_case c[] = {
        {"Q ISO-8859-1", "=?ISO-8859-1?Q?Keld_J=F8rn_Simonsen?= <keld@dkuug.dk>", 0, ADDR_OK,
         "keld@dkuug.dk {Keld Jørn Simonsen}"},
        {"Q word then atom keeps the space", "=?ISO-8859-1?Q?Andr=E9?= Pirard <P@vm1.test>", 0,
         ADDR_OK, "P@vm1.test {André Pirard}"},
        {"RFC 2231 language suffix", "=?US-ASCII*EN?Q?Keith_Moore?= <moore@cs.test>", 0, ADDR_OK,
         "moore@cs.test {Keith Moore}"},
        {"B UTF-8", "=?utf-8?b?0K/QvdC00LXQutGB?= <hello@yandex.test>", 0, ADDR_OK,
         "hello@yandex.test {Яндекс}"},
        {"adjacent words lose the space between them", "=?utf-8?q?a?= =?utf-8?q?b?= <a@b.test>", 0,
         ADDR_OK, "a@b.test {ab}"},
        {"adjacent words across folding", "=?ISO-8859-1?Q?a?=\n   =?ISO-8859-1?Q?b?= <t@t.test>", 0,
         ADDR_OK, "t@t.test {ab}"},
        {"iconv charset windows-1251", "=?windows-1251?B?wPLo6u7iYQ==?= <y@a.test>", 0, ADDR_OK,
         "y@a.test {Атиковa}"},
        {"iconv charset ISO-8859-8", "=?iso-8859-8?b?7eXs+SDv4SDp7Oj08A==?= <n@b.test>", 0, ADDR_OK,
         "n@b.test {םולש ןב ילטפנ}"},
        {"word inside quotes is decoded", "\"=?ISO-8859-1?Q?a?= b\" <t@t.test>", 0, ADDR_OK,
         "t@t.test {a b}"},
        {"whole quoted word is adjacent to the previous word",
         "=?ISO-8859-1?Q?a?= \"=?ISO-8859-2?Q?_b?=\" <t@t.test>", 0, ADDR_OK, "t@t.test {a b}"},
        {"quoted text, word and atom", "\"Serge B\" =?utf-8?b?WHBv4oSi?= conf <a@b.test>", 0,
         ADDR_OK, "a@b.test {Serge B Xpo™ conf}"},
        {"'.' inside Q text", "=?UTF-8?Q?J.R._Smith?= <a@b.test>", 0, ADDR_OK,
         "a@b.test {J.R. Smith}"},
        {"lone '=?' is an atom", "=? <name@domain.test>", 0, ADDR_OK, "name@domain.test {=?}"},
        {"unknown charset stays as written", "=?x-no-such?Q?abc?= <a@b.test>", 0, ADDR_OK,
         "a@b.test {=?x-no-such?Q?abc?=}"},
        {"invalid UTF-8 in a UTF-8 word stays as written", "=?utf-8?q?=FF?= <a@b.test>", 0, ADDR_OK,
         "a@b.test {=?utf-8?q?=FF?=}"},
        {"decoded NUL stays as written", "=?utf-8?q?a=00b?= <a@b.test>", 0, ADDR_OK,
         "a@b.test {=?utf-8?q?a=00b?=}"},
        {"decoded CR LF stays as written", "=?utf-8?q?a=0D=0Ab?= <a@b.test>", 0, ADDR_OK,
         "a@b.test {=?utf-8?q?a=0D=0Ab?=}"},
        {"bad base64 stays as written", "=?utf-8?b?*?= <a@b.test>", 0, ADDR_OK,
         "a@b.test {=?utf-8?b?*?=}"},
        {"8-bit in a US-ASCII word stays as written", "=?us-ascii?q?=E9?= <a@b.test>", 0, ADDR_OK,
         "a@b.test {=?us-ascii?q?=E9?=}"},
        {"encoded word is never decoded in an address", "=?utf-8?q?a?=@b.test", 0, ADDR_OK,
         "=?utf-8?q?a?=@b.test"},
        {"encoded '<' and '@' in a name stay a name",
         "=?utf-8?q?=3Cboss=40mydomain.com=3E?= <x@junk.test>", 0, ADDR_OK,
         "x@junk.test {<boss@mydomain.com>}"},
    };
    (void)state;
    RUN(c);
}

static void
test_addr_folding_and_field_end(void **state)
{
    static const field_case c[] = {
        {"CRLF folding inside quotes", "\"John\r\n Doe\" <a@b.test>", 0, ADDR_OK,
         "a@b.test {John Doe}"},
        {"LF folding between addresses", "a@b.test,\n\tc@d.test", 0, ADDR_OK,
         "a@b.test | c@d.test"},
        {"line break without WSP ends the field", "a@b.test\ninvalid@c.test\n", 0, ADDR_OK,
         "a@b.test"},
        {"empty line ends the field", "<a@b.test>\r\n\r\nbody@c.test", 0, ADDR_OK, "a@b.test"},
        {"trailing CRLF", "a@b.test\r\n", 0, ADDR_OK, "a@b.test"},
        {"empty body", "", 0, ADDR_EMPTY, NULL},
        {"blank body", " \t\r\n ", 0, ADDR_EMPTY, NULL},
        {"only commas", " , ,", 0, ADDR_EMPTY, NULL},
        {"bare CR is refused", "a@b.test\rc@d.test", 0, ADDR_SYNTAX, NULL},
        {"NUL byte is refused", "a@b.te\0st", 9, ADDR_SYNTAX, NULL},
        {"NUL byte after the field end is not read", "a@b.test\n\0", 10, ADDR_OK, "a@b.test"},
        {"control character is refused", "a\x01@b.test", 0, ADDR_SYNTAX, NULL},
        {"control character in quotes is refused", "\"a\x1b\" <a@b.test>", 0, ADDR_SYNTAX, NULL},
        {"DEL is refused", "a@b.test\x7f", 0, ADDR_SYNTAX, NULL},
    };
    (void)state;
    RUN(c);
}

static void
test_addr_utf8_rfc6532(void **state)
{
    static const field_case c[] = {
        {"UTF-8 in name, local part and domain", "\"Jöhn Doe\" <jdöe@mächine.example>", 0, ADDR_OK,
         "jdöe@mächine.example {Jöhn Doe}"},
        {"unquoted UTF-8 name", "Märy Smith <märy@exämple.net>", 0, ADDR_OK,
         "märy@exämple.net {Märy Smith}"},
        {"UTF-8 local part with CJK", "R <я你Rabea.Bartölke@uni.test>", 0, ADDR_OK,
         "я你Rabea.Bartölke@uni.test {R}"},
        {"latin-1 byte in a name becomes U+FFFD", "J\xf6rn <j@x.test>", 0, ADDR_OK,
         "j@x.test {J\xef\xbf\xbdrn}"},
        {"latin-1 byte in the local part is refused", "j\xf6rn@x.test", 0, ADDR_SYNTAX, NULL},
        {"latin-1 byte in the domain is refused", "<j@x\xe4.test>", 0, ADDR_SYNTAX, NULL},
        {"overlong UTF-8 in the local part is refused", "a\xc0\xaf@x.test", 0, ADDR_SYNTAX, NULL},
        {"UTF-16 surrogate in the domain is refused", "a@\xed\xa0\x80.test", 0, ADDR_SYNTAX, NULL},
        {"truncated UTF-8 in quoted local part is refused", "\"a\xe4\"@x.test", 0, ADDR_SYNTAX,
         NULL},
    };
    (void)state;
    RUN(c);
}

static void
test_addr_malformed_classes(void **state)
{
    static const field_case c[] = {
        {"unterminated quoted string", "\"John <a@b.test>", 0, ADDR_SYNTAX, NULL},
        {"quoted string ending in backslash", "\"John\\", 0, ADDR_SYNTAX, NULL},
        {"unterminated angle address", "John <a@b.test", 0, ADDR_SYNTAX, NULL},
        {"stray '>'", "a@b.test>", 0, ADDR_SYNTAX, NULL},
        {"empty angle address", "John <>", 0, ADDR_SYNTAX, NULL},
        {"missing domain (word only)", "NO", 0, ADDR_SYNTAX, NULL},
        {"missing domain in angle address", "<postmaster>", 0, ADDR_SYNTAX, NULL},
        {"missing domain after '@'", "a@", 0, ADDR_SYNTAX, NULL},
        {"empty local part", "@b.test", 0, ADDR_SYNTAX, NULL},
        {"empty quoted local part", "\"\"@b.test", 0, ADDR_SYNTAX, NULL},
        {"leading dot in local part", ".a@b.test", 0, ADDR_SYNTAX, NULL},
        {"double dot in local part", "a..b@c.test", 0, ADDR_SYNTAX, NULL},
        {"trailing dot in local part", "a.@b.test", 0, ADDR_SYNTAX, NULL},
        {"leading dot in domain", "a@.b.test", 0, ADDR_SYNTAX, NULL},
        {"double dot in domain", "a@b..test", 0, ADDR_SYNTAX, NULL},
        {"trailing dot in domain", "a@b.test.", 0, ADDR_SYNTAX, NULL},
        {"two '@'", "a@b@c.test", 0, ADDR_SYNTAX, NULL},
        {"quoted domain", "a@\"b.test\"", 0, ADDR_SYNTAX, NULL},
        {"text after angle address", "<a@b.test> Doe", 0, ADDR_SYNTAX, NULL},
        {"unterminated domain literal", "a@[1.2.3.4", 0, ADDR_SYNTAX, NULL},
        {"empty domain literal", "a@[]", 0, ADDR_SYNTAX, NULL},
        {"quoted-pair in domain literal", "a@[1\\.2]", 0, ADDR_SYNTAX, NULL},
        {"stray ']'", "a@b.test]", 0, ADDR_SYNTAX, NULL},
        {"backslash outside quotes", "a\\b@c.test", 0, ADDR_SYNTAX, NULL},
        {"RFC 2369 URI is not an address", "<http://www.host.com/list/archive/> (Web Archive)", 0,
         ADDR_SYNTAX, NULL},
        {"literal domain accepted", "x@[ 1.2.3.4 ]", 0, ADDR_OK, "x@[1.2.3.4]"},
        {"domain name in brackets is refused", "x@[good.example]", 0, ADDR_SYNTAX, NULL},
        {"bad IPv4 literal is refused", "x@[1.2.3.256]", 0, ADDR_SYNTAX, NULL},
        {"bad IPv6 literal is refused", "x@[IPv6:1::2::3]", 0, ADDR_SYNTAX, NULL},
        {"general address literal accepted", "x@[tag:content]", 0, ADDR_OK, "x@[tag:content]"},
        {"IPv6 literal domain accepted", "<x@[IPv6:2001:db8::1]>", 0, ADDR_OK,
         "x@[IPv6:2001:db8::1]"},
    };
    (void)state;
    RUN(c);
}

static void
test_addr_overlong_field_is_refused(void **state)
{
    size_t n = ADDR_MAX_FIELD + 10, i;
    char *big = xmalloc(n + 1), err[128];
    addr_list *l = NULL;

    (void)state;
    for (i = 0; i < n; i++)
        big[i] = i % 10 == 9 ? ',' : 'a';
    memcpy(big, "x@y.test,", 9);
    big[n] = '\0';
    assert_int_equal(addr_parse_field(big, n, &l, err, sizeof(err)), ADDR_SYNTAX);
    assert_null(l);
    assert_non_null(strstr(err, "longer"));
    /* just under the limit: many bare words without domain, a clean syntax error */
    assert_int_equal(addr_parse_field(big, ADDR_MAX_FIELD, &l, err, sizeof(err)), ADDR_SYNTAX);
    /* the limit counts the field only, not what follows its end */
    memcpy(big, "x@y.test\n\n", 10);
    assert_int_equal(addr_parse_field(big, n, &l, err, sizeof(err)), ADDR_OK);
    assert_string_equal(l->v[0].address, "x@y.test");
    l = addr_list_free(l);
    free(big);
}

static void
test_addr_many_mailboxes_and_deep_comments(void **state)
{
    size_t n = 60000, i;
    char *big = xmalloc(n + 1), err[128];
    addr_list *l = NULL;

    (void)state;
    for (i = 0; i + 6 <= n; i += 6)
        memcpy(big + i, "a@b.c,", 6);
    big[i] = '\0';
    assert_int_equal(addr_parse_field(big, i, &l, err, sizeof(err)), ADDR_OK);
    assert_int_equal(l->n, i / 6);
    l = addr_list_free(l);
    /* 30000 nested comments: no recursion, no stack overflow */
    free(big);
    big = xmalloc(60100);
    memset(big, '(', 30000);
    big[30000] = 'x';
    memset(big + 30001, ')', 30000);
    memcpy(big + 60001, " a@b.test", 10);
    assert_int_equal(addr_parse_field(big, strlen(big), &l, err, sizeof(err)), ADDR_OK);
    assert_string_equal(l->v[0].address, "a@b.test");
    l = addr_list_free(l);
    big[60000] = ' '; /* one ')' short */
    assert_int_equal(addr_parse_field(big, strlen(big), &l, err, sizeof(err)), ADDR_SYNTAX);
    free(big);
}

typedef struct path_case {
    const char *what;
    const char *in;
    addr_status st;
    int is_null;
    const char *address, *domain, *local;
} path_case;

static void
test_addr_parse_path_cases(void **state)
{
    static const path_case c[] = {
        {"angle path", "<a@b.test>", ADDR_OK, 0, "a@b.test", "b.test", "a"},
        {"bare path", "a@b.test", ADDR_OK, 0, "a@b.test", "b.test", "a"},
        {"null path", "<>", ADDR_OK, 1, "", NULL, NULL},
        {"null path with parameters", "<> SIZE=100", ADDR_OK, 1, "", NULL, NULL},
        {"ESMTP parameters ignored", "<a@b.test> SIZE=100 BODY=8BITMIME", ADDR_OK, 0, "a@b.test",
         "b.test", "a"},
        {"source route dropped", "<@r1.test,@r2.test:a@b.test>", ADDR_OK, 0, "a@b.test", "b.test",
         "a"},
        {"quoted local part", "<\"a b\"@c.test>", ADDR_OK, 0, "\"a b\"@c.test", "c.test", "a b"},
        {"quoted trap stays at the outer domain", "<\"x@junk.test\"@mine.test>", ADDR_OK, 0,
         "\"x@junk.test\"@mine.test", "mine.test", "x@junk.test"},
        {"address literal", "<a@[192.0.2.1]>", ADDR_OK, 0, "a@[192.0.2.1]", "192.0.2.1", "a"},
        {"SMTPUTF8 address", "<jdöe@mächine.example>", ADDR_OK, 0, "jdöe@mächine.example",
         "mächine.example", "jdöe"},
        {"postmaster without domain", "<Postmaster>", ADDR_OK, 0, "Postmaster", NULL, "Postmaster"},
        {"plus label kept", "<a+tag@b.test>", ADDR_OK, 0, "a+tag@b.test", "b.test", "a+tag"},
        {"local part only", "<alice>", ADDR_SYNTAX, 0, NULL, NULL, NULL},
        {"missing '>'", "<a@b.test", ADDR_SYNTAX, 0, NULL, NULL, NULL},
        {"comment not allowed", "<a(x)@b.test>", ADDR_SYNTAX, 0, NULL, NULL, NULL},
        {"display name not allowed", "Name <a@b.test>", ADDR_SYNTAX, 0, NULL, NULL, NULL},
        {"double dot in local part", "<a..b@c.test>", ADDR_SYNTAX, 0, NULL, NULL, NULL},
        {"empty domain label", "<a@b..test>", ADDR_SYNTAX, 0, NULL, NULL, NULL},
        {"trailing dot in domain", "<a@b.test.>", ADDR_SYNTAX, 0, NULL, NULL, NULL},
        {"hyphen at label start", "<a@-b.test>", ADDR_SYNTAX, 0, NULL, NULL, NULL},
        {"junk after path", "<a@b.test>x", ADDR_SYNTAX, 0, NULL, NULL, NULL},
        {"empty argument", "", ADDR_SYNTAX, 0, NULL, NULL, NULL},
        {"control character in quotes", "<\"a\x01\"@b.test>", ADDR_SYNTAX, 0, NULL, NULL, NULL},
        {"invalid UTF-8", "<a\xff@b.test>", ADDR_SYNTAX, 0, NULL, NULL, NULL},
        {"unterminated quoted local part", "<\"ab@c.test>", ADDR_SYNTAX, 0, NULL, NULL, NULL},
        {"bad source route", "<@:a@b.test>", ADDR_SYNTAX, 0, NULL, NULL, NULL},
        {"domain name in brackets", "<a@[good.example]>", ADDR_SYNTAX, 0, NULL, NULL, NULL},
        {"IPv6 address literal", "<a@[IPv6:2001:db8::1]>", ADDR_OK, 0, "a@[IPv6:2001:db8::1]",
         "IPv6:2001:db8::1", "a"},
    };
    size_t i;

    (void)state;
    for (i = 0; i < SM_ARRAY_LEN(c); i++) {
        addr_mailbox m;
        char err[128] = "";
        int is_null = -1;
        addr_status st = addr_parse_path(c[i].in, &m, &is_null, err, sizeof(err));
        if (st != c[i].st)
            fail_msg("%s: \"%s\": status %s (%s)", c[i].what, c[i].in, addr_status_name(st), err);
        assert_int_equal(is_null, c[i].is_null);
        if (st == ADDR_OK) {
            assert_string_equal(m.address, c[i].address);
            if (c[i].domain == NULL)
                assert_null(m.domain);
            else
                assert_string_equal(m.domain, c[i].domain);
            if (c[i].local == NULL)
                assert_null(m.local);
            else
                assert_string_equal(m.local, c[i].local);
        } else {
            assert_null(m.address);
            assert_true(err[0] != '\0');
        }
        addr_mailbox_clear(&m);
        assert_null(m.address);
    }
}

static void
test_addr_strip_label_cases(void **state)
{
    static const struct {
        const char *local, *domain;
        char sep;
        const char *want;
    } c[] = {
        {"alice+news", "example.com", '+', "alice@example.com"},
        {"alice+a+b", "example.com", '+', "alice@example.com"},
        {"alice+", "example.com", '+', "alice@example.com"},
        {"alice", "example.com", '+', NULL},
        {"+news", "example.com", '+', NULL},
        {"alice-news", "example.com", '-', "alice@example.com"},
        {"alice-news", "example.com", '+', NULL},
        {"a b+x", "example.com", '+', "\"a b\"@example.com"},
        {"alice+x", NULL, '+', "alice"},
        {"alice+x", "example.com", '\0', NULL},
    };
    size_t i;

    (void)state;
    for (i = 0; i < SM_ARRAY_LEN(c); i++) {
        char *got = addr_strip_label(c[i].local, c[i].domain, c[i].sep);
        if (c[i].want == NULL) {
            if (got != NULL)
                fail_msg("strip(%s) gave %s, want none", c[i].local, got);
        } else {
            if (got == NULL)
                fail_msg("strip(%s) gave none, want %s", c[i].local, c[i].want);
            assert_string_equal(got, c[i].want);
        }
        free(got);
    }
    assert_null(addr_strip_label(NULL, "x", '+'));
}

static void
test_addr_quote_local_only_when_needed(void **state)
{
    static const struct {
        const char *in, *want;
    } c[] = {
        {"john.doe", "john.doe"}, {"a+b", "a+b"},     {"jdöe", "jdöe"}, {"a b", "\"a b\""},
        {"a..b", "\"a..b\""},     {".a", "\".a\""},   {"a.", "\"a.\""}, {"a\"b", "\"a\\\"b\""},
        {"a\\b", "\"a\\\\b\""},   {"x@y", "\"x@y\""}, {"", "\"\""},     {"a(b)", "\"a(b)\""},
    };
    size_t i;

    (void)state;
    for (i = 0; i < SM_ARRAY_LEN(c); i++) {
        char *got = addr_quote_local(c[i].in);
        assert_string_equal(got, c[i].want);
        free(got);
    }
}

static void
test_rfc2047_utf8_checks(void **state)
{
    static const struct {
        const char *in;
        int valid;
        const char *repaired;
    } c[] = {
        {"plain", 1, "plain"},
        {"caf\xc3\xa9", 1, "caf\xc3\xa9"},
        {"\xf0\x9f\x98\x80", 1, "\xf0\x9f\x98\x80"},
        {"caf\xe9", 0, "caf\xef\xbf\xbd"},
        {"\xc0\x80", 0, "\xef\xbf\xbd\xef\xbf\xbd"},
        {"\xed\xa0\x80", 0, "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"},
        {"\xf4\x90\x80\x80", 0, "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"},
        {"\xe2\x82", 0, "\xef\xbf\xbd\xef\xbf\xbd"},
    };
    size_t i;

    (void)state;
    for (i = 0; i < SM_ARRAY_LEN(c); i++) {
        char *r = rfc2047_utf8_repair(c[i].in, strlen(c[i].in));
        assert_int_equal(rfc2047_utf8_valid(c[i].in, strlen(c[i].in)), c[i].valid);
        assert_string_equal(r, c[i].repaired);
        free(r);
    }
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_addr_rfc5322_appendix_a),
        cmocka_unit_test(test_addr_quoted_local_part_is_not_the_address),
        cmocka_unit_test(test_addr_comments_anywhere_cfws_is_allowed),
        cmocka_unit_test(test_addr_groups),
        cmocka_unit_test(test_addr_encoded_words),
        cmocka_unit_test(test_addr_folding_and_field_end),
        cmocka_unit_test(test_addr_utf8_rfc6532),
        cmocka_unit_test(test_addr_malformed_classes),
        cmocka_unit_test(test_addr_overlong_field_is_refused),
        cmocka_unit_test(test_addr_many_mailboxes_and_deep_comments),
        cmocka_unit_test(test_addr_parse_path_cases),
        cmocka_unit_test(test_addr_strip_label_cases),
        cmocka_unit_test(test_addr_quote_local_only_when_needed),
        cmocka_unit_test(test_rfc2047_utf8_checks),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
