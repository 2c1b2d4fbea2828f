/*
 * test_scope.c - which mail is outgoing: CIDR parsing and the scope rules
 */
#include "config.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <cmocka.h>

#include "conf/scope.h"

/* make_sa - a sockaddr for an address literal */
static const struct sockaddr *
make_sa(const char *ip, int port, struct sockaddr_storage *ss)
{
    memset(ss, 0, sizeof(*ss));
    if (strchr(ip, ':')) {
        struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;
        s6->sin6_family = AF_INET6;
        s6->sin6_port = htons((uint16_t)port);
        assert_int_equal(inet_pton(AF_INET6, ip, &s6->sin6_addr), 1);
    } else {
        struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
        s4->sin_family = AF_INET;
        s4->sin_port = htons((uint16_t)port);
        assert_int_equal(inet_pton(AF_INET, ip, &s4->sin_addr), 1);
    }
    return (const struct sockaddr *)ss;
}

static void
test_scope_cidr_parse_accepts_valid_and_refuses_invalid(void **state)
{
    static const struct {
        const char *text;
        int ok;
        int prefix;
    } cases[] = {
        {"192.0.2.0/24", 1, 24},
        {"10.1.2.3", 1, 32},
        {"0.0.0.0/0", 1, 0},
        {"2001:db8::/32", 1, 32},
        {"::1", 1, 128},
        {"::/0", 1, 0},
        {"10.0.0.0/33", 0, 0},
        {"2001:db8::/129", 0, 0},
        {"10.0.0.0/", 0, 0},
        {"10.0.0.0/08", 0, 0},
        {"10.0.0.0/-1", 0, 0},
        {"example.com", 0, 0},
        {"", 0, 0},
        {"10.0.0.0/24x", 0, 0},
        {"300.1.1.1/8", 0, 0},
    };
    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        scope_net n;
        int r = scope_parse_cidr(cases[i].text, &n);
        if (cases[i].ok) {
            assert_int_equal(r, 0);
            assert_int_equal(n.prefix, cases[i].prefix);
        } else {
            assert_int_equal(r, -1);
        }
    }
}

static void
test_scope_cidr_match_v4_v6_and_mapped(void **state)
{
    static const struct {
        const char *net, *ip;
        int match;
    } cases[] = {
        {"192.0.2.0/24", "192.0.2.77", 1},        {"192.0.2.0/24", "192.0.3.1", 0},
        {"192.0.2.128/25", "192.0.2.127", 0},     {"192.0.2.128/25", "192.0.2.200", 1},
        {"10.0.0.0/8", "::ffff:10.9.8.7", 1},     {"10.0.0.0/8", "::ffff:11.0.0.1", 0},
        {"2001:db8::/32", "2001:db8:1::5", 1},    {"2001:db8::/32", "2001:db9::1", 0},
        {"2001:db8::/33", "2001:db8:8000::1", 0}, {"0.0.0.0/0", "203.0.113.9", 1},
        {"2001:db8::/32", "192.0.2.1", 0},        {"192.0.2.1", "192.0.2.1", 1},
    };
    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        scope_net n;
        struct sockaddr_storage ss;
        assert_int_equal(scope_parse_cidr(cases[i].net, &n), 0);
        assert_int_equal(scope_net_match(&n, make_sa(cases[i].ip, 25, &ss)), cases[i].match);
    }
}

static scope_conf *
parse_scope(const char *text)
{
    config_t cf;
    scope_conf *c = NULL;
    char err[512];

    config_init(&cf);
    assert_int_equal(config_read_string(&cf, text), CONFIG_TRUE);
    assert_int_equal(scope_conf_parse(config_lookup(&cf, "scope"), &c, err, sizeof(err)), 0);
    config_destroy(&cf);
    return c;
}

static void
test_scope_decide_by_rule(void **state)
{
    static const struct {
        const char *conf;
        const char *ip; /* NULL: no address */
        int port;
        const char *host, *auth;
        scope_why want;
    } cases[] = {
        /* authenticated wins wherever the client is */
        {"scope: { internal_networks = []; };", "203.0.113.5", 4000, "x", "alice",
         SCOPE_AUTHENTICATED},
        {"scope: { authenticated = false; internal_networks = []; };", "203.0.113.5", 4000, "x",
         "alice", SCOPE_EXTERNAL},
        {"scope: { internal_networks = [\"10.0.0.0/8\", \"2001:db8::/32\"]; };", "10.2.3.4", 4000,
         "x", NULL, SCOPE_INTERNAL_NETWORK},
        {"scope: { internal_networks = [\"10.0.0.0/8\", \"2001:db8::/32\"]; };", "2001:db8::25",
         4000, "x", NULL, SCOPE_INTERNAL_NETWORK},
        {"scope: { internal_networks = [\"10.0.0.0/8\"]; };", "198.51.100.7", 4000,
         "mx.example.net", NULL, SCOPE_EXTERNAL},
        /* Postfix's simulated connection for sendmail(1) mail */
        {"scope: { internal_networks = []; };", "127.0.0.1", 0, "localhost", NULL,
         SCOPE_LOCAL_SUBMISSION},
        {"scope: { internal_networks = []; local_submission = false; };", "127.0.0.1", 0,
         "localhost", NULL, SCOPE_EXTERNAL},
        {"scope: { internal_networks = []; };", "127.0.0.1", 34567, "localhost", NULL,
         SCOPE_EXTERNAL},
        {"scope: { internal_networks = []; };", NULL, 0, "localhost", NULL, SCOPE_LOCAL_SUBMISSION},
        {"scope: { all_outgoing = true; internal_networks = []; };", "198.51.100.7", 4000, "x",
         NULL, SCOPE_ALL},
        /* an empty auth macro is not authentication */
        {"scope: { internal_networks = []; };", "198.51.100.7", 4000, "x", "", SCOPE_EXTERNAL},
    };
    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        scope_conf *c = parse_scope(cases[i].conf);
        struct sockaddr_storage ss;
        scope_client cl = {cases[i].ip ? make_sa(cases[i].ip, cases[i].port, &ss) : NULL,
                           cases[i].host, cases[i].auth, cases[i].port};
        assert_int_equal(scope_decide(c, &cl), cases[i].want);
        scope_conf_free(c);
    }
}

static void
test_scope_conf_bad_network_names_line(void **state)
{
    config_t cf;
    scope_conf *c = NULL;
    char err[512];
    (void)state;
    config_init(&cf);
    assert_int_equal(config_read_string(&cf, "scope: {\n internal_networks = [\n \"10.0.0.0/8\",\n "
                                             "\"2001:db8::/200\" ];\n};\n"),
                     CONFIG_TRUE);
    assert_int_equal(scope_conf_parse(config_lookup(&cf, "scope"), &c, err, sizeof(err)), -1);
    assert_non_null(strstr(err, ":4: "));
    assert_non_null(strstr(err, "2001:db8::/200"));
    config_destroy(&cf);
}

/* system mail: every recipient local, or an MTA bounce; "check" turns the rule off */
static void
test_scope_system_mail_by_case(void **state)
{
    static const struct {
        const char *conf;
        size_t n_rcpts, n_local;
        int null_sender;
        const char *from_local, *from_domain;
        scope_sysmail want;
    } cases[] = {
        {"scope: { };", 1, 1, 0, "root", "mx.example", SCOPE_SYS_LOCAL},
        {"scope: { };", 2, 1, 0, "root", "mx.example", SCOPE_SYS_NONE}, /* one is remote */
        {"scope: { };", 0, 0, 0, "root", "mx.example", SCOPE_SYS_NONE},
        {"scope: { };", 1, 0, 1, "MAILER-DAEMON", "mx.example", SCOPE_SYS_BOUNCE},
        {"scope: { };", 1, 0, 1, "mailer-daemon", "MX.example", SCOPE_SYS_BOUNCE},
        /* a MAILER-DAEMON of another host is not this MTA's bounce */
        {"scope: { };", 1, 0, 1, "MAILER-DAEMON", "other.example", SCOPE_SYS_NONE},
        {"scope: { };", 1, 0, 0, "MAILER-DAEMON", "mx.example", SCOPE_SYS_NONE}, /* not <> */
        {"scope: { };", 1, 0, 1, "eve", "mx.example", SCOPE_SYS_NONE},
        {"scope: { };", 1, 0, 1, NULL, NULL, SCOPE_SYS_NONE}, /* no single From mailbox */
        {"scope: { bounce_senders = [ \"postmaster\" ]; };", 1, 0, 1, "MAILER-DAEMON", "mx.example",
         SCOPE_SYS_NONE},
        {"scope: { system_mail = \"check\"; };", 1, 1, 0, "root", "mx.example", SCOPE_SYS_NONE},
        {"scope: { system_mail = \"check\"; };", 1, 0, 1, "MAILER-DAEMON", "mx.example",
         SCOPE_SYS_NONE},
    };
    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        scope_conf *c = parse_scope(cases[i].conf);
        assert_int_equal(scope_system_mail(c, cases[i].n_rcpts, cases[i].n_local,
                                           cases[i].null_sender, cases[i].from_local,
                                           cases[i].from_domain, "mx.example"),
                         cases[i].want);
        scope_conf_free(c);
    }
}

/* local_mailers: the {rcpt_mailer} values that count, case-insensitive; none without a macro */
static void
test_scope_local_mailer_list(void **state)
{
    scope_conf *c = parse_scope("scope: { };");
    scope_conf *d = parse_scope("scope: { local_mailers = [ \"local\", \"cyrus\" ]; };");

    (void)state;
    assert_true(scope_local_mailer(c, "local"));
    assert_true(scope_local_mailer(c, "LOCAL"));
    assert_false(scope_local_mailer(c, "relay"));
    assert_false(scope_local_mailer(c, "smtp"));
    assert_false(scope_local_mailer(c, NULL));
    assert_false(scope_local_mailer(c, ""));
    assert_true(scope_local_mailer(d, "cyrus"));
    /* without {rcpt_mailer}: the MTA's own name, or no domain at all */
    assert_true(scope_local_rcpt(c, "root@mx.example", NULL, "MX.example"));
    assert_true(scope_local_rcpt(c, "root", NULL, NULL));
    assert_false(scope_local_rcpt(c, "root@other.example", NULL, "mx.example"));
    assert_false(scope_local_rcpt(c, "root@mx.example", NULL, NULL));
    assert_false(scope_local_rcpt(c, "root@mx.example", "relay", "mx.example"));
    assert_true(scope_local_rcpt(c, "x@anything.example", "local", "mx.example"));
    scope_conf_free(c);
    scope_conf_free(d);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_scope_cidr_parse_accepts_valid_and_refuses_invalid),
        cmocka_unit_test(test_scope_cidr_match_v4_v6_and_mapped),
        cmocka_unit_test(test_scope_decide_by_rule),
        cmocka_unit_test(test_scope_conf_bad_network_names_line),
        cmocka_unit_test(test_scope_system_mail_by_case),
        cmocka_unit_test(test_scope_local_mailer_list),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
