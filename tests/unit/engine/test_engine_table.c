/*
 * test_engine_table.c - the engine's decisions as a table: facts in, verdict out
 *
 * Each row is one message through the engine without libmilter or a daemon:
 * the configuration (scope and identity gate settings over the scripted test
 * plugin), the connection (client address, hostname, AUTH), the envelope and
 * the From field in; the action, the SMTP reply (code, enhanced code, text),
 * the header fields added and the audit record's fields out.  The rows cover
 * every action (accept, reject, tempfail, quarantine and tag from the gate;
 * discard, reject and tag from the unsubscribe store, a file this test
 * writes: discard has no other source), every scope (external,
 * authenticated, internal network, local submission, all outgoing: audit
 * schema v2 has no "all-outgoing" reason, so its record says
 * "internal-network", see doc/audit-schema.md) and the failure mode of a
 * source that cannot answer (tempfail, or accept when the configuration
 * fails open).  The facts go in through one engine_input struct
 * (engine_input_run), as the milter would feed them.
 */
#include "config.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "conf/conf.h"
#include "engine/services.h"
#include "engine/engine.h"
#include "engine/engine_input.h"
#include "engine/msg.h"
#include "lib/util.h"
#include "plugin_dir.h"

static char *pdir;
static char tmpdir[] = "/tmp/test_engine_table.XXXXXX";

#define ANSWERS                                                                                    \
    "good@example.com=verified example.com=verified bad@example.org=not_verified "                 \
    "slow.example=tempfail news.example.com=verified"

/* one row: facts in, decision out */
typedef struct row {
    const char *name;
    /* facts in */
    const char *scope;    /* the scope section's settings */
    const char *identity; /* extra identity settings */
    const char *client;   /* client IPv4 address, NULL: none */
    const char *hostname;
    int port;
    const char *auth;     /* AUTH authenticated identity, NULL: none */
    const char *env_from; /* MAIL FROM argument */
    const char *from;     /* From field, NULL: none */
    /* decision out */
    int outgoing;
    verdict_action action;
    const char *code, *xcode; /* NULL: no reply of the milter's own */
    const char *text;         /* substring of the reply text, NULL: not checked */
    const char *hdr;          /* "Name: value-substring" of an added field, NULL: none added */
    const char *audit[5];     /* substrings of the audit record, NULL-terminated */
    const char *extra;        /* more top-level groups, "@T@" is the test's directory */
    const char *rcpt;         /* RCPT TO, NULL: <rcpt@example.net> */
} row;

/* the unsubscribe store: alice left the list "news" (rule "news", senders news.example.com) */
#define UNSUB(action)                                                                              \
    "unsubscribe: { token_key_file = \"@T@/unsub.key\"; store_file = \"@T@/unsubscribed\"; "       \
    "store_action = \"" action "\"; store_refresh_ms = 0; rules = ( { name = \"news\"; "           \
    "senders = [ \"news.example.com\" ]; url = \"https://example.com/u/%{token}\"; "               \
    "multi_recipient = \"skip\"; } ); };\n"

#define NETS "internal_networks = [ \"10.0.0.0/8\" ];"

static const row rows[] = {
    /* scopes */
    {"external_client_passes_untouched",
     NETS,
     "",
     "192.0.2.9",
     "mx.example.net",
     2525,
     NULL,
     "<bad@example.org>",
     "bad@example.org",
     0,
     VERDICT_ACCEPT,
     NULL,
     NULL,
     NULL,
     NULL,
     {NULL},
     NULL,
     NULL},
    {"authenticated_client_is_in_scope",
     NETS,
     "",
     "192.0.2.9",
     "client.example.net",
     2525,
     "alice",
     "<good@example.com>",
     "good@example.com",
     1,
     VERDICT_ACCEPT,
     NULL,
     NULL,
     NULL,
     NULL,
     {"\"reason\":\"authenticated\"", "\"auth_user\":\"alice\"", "\"action\":\"accept\"", NULL},
     NULL,
     NULL},
    {"authentication_ignored_when_scope_off",
     NETS " authenticated = false;",
     "",
     "192.0.2.9",
     "client.example.net",
     2525,
     "alice",
     "<bad@example.org>",
     "bad@example.org",
     0,
     VERDICT_ACCEPT,
     NULL,
     NULL,
     NULL,
     NULL,
     {NULL},
     NULL,
     NULL},
    {"internal_network_is_in_scope",
     NETS,
     "",
     "10.1.2.3",
     "app.internal",
     40000,
     NULL,
     "<good@example.com>",
     "good@example.com",
     1,
     VERDICT_ACCEPT,
     NULL,
     NULL,
     NULL,
     NULL,
     {"\"reason\":\"internal-network\"", NULL},
     NULL,
     NULL},
    {"local_submission_is_in_scope",
     "internal_networks = [ \"10.0.0.0/8\" ];",
     "",
     "127.0.0.1",
     "localhost",
     0,
     NULL,
     "<good@example.com>",
     "good@example.com",
     1,
     VERDICT_ACCEPT,
     NULL,
     NULL,
     NULL,
     NULL,
     {"\"reason\":\"local-submission\"", NULL},
     NULL,
     NULL},
    {"all_outgoing_takes_any_client",
     NETS " all_outgoing = true;",
     "",
     "192.0.2.9",
     "mx.example.net",
     2525,
     NULL,
     "<good@example.com>",
     "good@example.com",
     1,
     VERDICT_ACCEPT,
     NULL,
     NULL,
     NULL,
     NULL,
     {"\"outgoing\":true,\"reason\":\"internal-network\"", NULL},
     NULL,
     NULL},
    /* actions */
    {"verified_domain_accepts",
     NETS,
     "",
     "10.1.2.3",
     "app",
     1,
     NULL,
     "<x@example.com>",
     "x@example.com",
     1,
     VERDICT_ACCEPT,
     NULL,
     NULL,
     NULL,
     NULL,
     {"\"action\":\"accept\"", NULL},
     NULL,
     NULL},
    {"not_verified_rejects_with_5_7_1",
     NETS,
     "",
     "10.1.2.3",
     "app",
     1,
     NULL,
     "<bad@example.org>",
     "bad@example.org",
     1,
     VERDICT_REJECT,
     "550",
     "5.7.1",
     "bad@example.org",
     NULL,
     {"\"action\":\"reject\"", "\"answer\":\"not_verified\"",
      "\"reply\":{\"code\":550,\"xcode\":\"5.7.1\"", NULL},
     NULL,
     NULL},
    {"not_verified_quarantines",
     NETS,
     "action = \"quarantine\";",
     "10.1.2.3",
     "app",
     1,
     NULL,
     "<bad@example.org>",
     "bad@example.org",
     1,
     VERDICT_QUARANTINE,
     NULL,
     NULL,
     NULL,
     NULL,
     {"\"action\":\"quarantine\"", NULL},
     NULL,
     NULL},
    {"not_verified_tag_accepts_with_header",
     NETS,
     "action = \"tag\";",
     "10.1.2.3",
     "app",
     1,
     NULL,
     "<bad@example.org>",
     "bad@example.org",
     1,
     VERDICT_ACCEPT,
     NULL,
     NULL,
     NULL,
     "X-SES-Milter-Identity: ",
     {"\"action\":\"tag\"", NULL},
     NULL,
     NULL},
    {"not_verified_monitor_accepts",
     NETS,
     "action = \"monitor\";",
     "10.1.2.3",
     "app",
     1,
     NULL,
     "<bad@example.org>",
     "bad@example.org",
     1,
     VERDICT_ACCEPT,
     NULL,
     NULL,
     NULL,
     NULL,
     {"\"action\":\"accept\"", "\"answer\":\"not_verified\"", "\"reply\":null", NULL},
     NULL,
     NULL},
    {"no_from_rejects",
     NETS,
     "",
     "10.1.2.3",
     "app",
     1,
     NULL,
     "<good@example.com>",
     NULL,
     1,
     VERDICT_REJECT,
     "550",
     "5.7.1",
     NULL,
     NULL,
     {"\"action\":\"reject\"", NULL},
     NULL,
     NULL},
    /* failure modes */
    {"source_unavailable_tempfails",
     NETS,
     "",
     "10.1.2.3",
     "app",
     1,
     NULL,
     "<a@slow.example>",
     "a@slow.example",
     1,
     VERDICT_TEMPFAIL,
     "451",
     "4.7.1",
     "a@slow.example",
     NULL,
     {"\"action\":\"tempfail\"", "\"answer\":\"tempfail\"",
      "\"reply\":{\"code\":451,\"xcode\":\"4.7.1\"", NULL},
     NULL,
     NULL},
    {"source_unavailable_fail_open_accepts",
     NETS,
     "on_tempfail = \"accept\";",
     "10.1.2.3",
     "app",
     1,
     NULL,
     "<a@slow.example>",
     "a@slow.example",
     1,
     VERDICT_ACCEPT,
     NULL,
     NULL,
     NULL,
     NULL,
     {"\"action\":\"accept\"", NULL},
     NULL,
     NULL},
    {.name = "all_outgoing_comes_before_authentication",
     .scope = NETS " all_outgoing = true;",
     .identity = "",
     .client = "192.0.2.9",
     .hostname = "client.example.net",
     .port = 2525,
     .auth = "alice",
     .env_from = "<good@example.com>",
     .from = "good@example.com",
     .outgoing = 1,
     .action = VERDICT_ACCEPT,
     .audit = {"\"reason\":\"internal-network\"", "\"auth_user\":\"alice\"", NULL}},
    /* the unsubscribe store: the only source of discard */
    {.name = "every_recipient_unsubscribed_discards",
     .scope = NETS,
     .identity = "",
     .client = "10.0.0.5",
     .hostname = "app",
     .port = 1,
     .env_from = "<letters@news.example.com>",
     .from = "letters@news.example.com",
     .outgoing = 1,
     .action = VERDICT_DISCARD,
     .audit = {"\"action\":\"discard\"", "\"store_action\":\"drop\"", "\"rcpt_count\":1}", NULL},
     .extra = UNSUB("drop"),
     .rcpt = "<alice@example.org>"},
    {.name = "unsubscribed_recipient_kept_when_not_listed",
     .scope = NETS,
     .identity = "",
     .client = "10.0.0.5",
     .hostname = "app",
     .port = 1,
     .env_from = "<letters@news.example.com>",
     .from = "letters@news.example.com",
     .outgoing = 1,
     .action = VERDICT_ACCEPT,
     .audit = {"\"action\":\"accept\"", "\"unsubscribed\":null", NULL},
     .extra = UNSUB("drop"),
     .rcpt = "<bob@example.org>"},
    {.name = "unsubscribed_store_reject_refuses_with_5_7_1",
     .scope = NETS,
     .identity = "",
     .client = "10.0.0.5",
     .hostname = "app",
     .port = 1,
     .env_from = "<letters@news.example.com>",
     .from = "letters@news.example.com",
     .outgoing = 1,
     .action = VERDICT_REJECT,
     .code = "550",
     .xcode = "5.7.1",
     .text = "unsubscribed from list news",
     .audit = {"\"action\":\"reject\"", "\"store_action\":\"reject\"",
               "\"reply\":{\"code\":550,\"xcode\":\"5.7.1\"", NULL},
     .extra = UNSUB("reject"),
     .rcpt = "<alice@example.org>"},
    {.name = "unsubscribed_store_tag_accepts_with_header",
     .scope = NETS,
     .identity = "",
     .client = "10.0.0.5",
     .hostname = "app",
     .port = 1,
     .env_from = "<letters@news.example.com>",
     .from = "letters@news.example.com",
     .outgoing = 1,
     .action = VERDICT_ACCEPT,
     .hdr = "X-SES-Milter-Unsubscribed: list=news; recipients=1",
     .audit = {"\"action\":\"accept\"", "\"store_action\":\"tag\"", NULL},
     .extra = UNSUB("tag"),
     .rcpt = "<alice@example.org>"},
};

static int
setup(void **state)
{
    (void)state;
    char path[256];

    pdir = plugin_dir_make();
    if (mkdtemp(tmpdir) == NULL)
        return -1;
    snprintf(path, sizeof(path), "%s/unsub.key", tmpdir);
    if (plugin_write_file(path, "0123456789abcdef0123456789abcdef", 0600) < 0)
        return -1;
    snprintf(path, sizeof(path), "%s/unsubscribed", tmpdir);
    return plugin_write_file(path, "1800000000\tnews\talice@example.org\n", 0644);
}

static int
teardown(void **state)
{
    char path[256];

    (void)state;
    conf_publish(NULL);
    plugin_dir_remove(pdir);
    snprintf(path, sizeof(path), "%s/ses-milter.conf", tmpdir);
    unlink(path);
    snprintf(path, sizeof(path), "%s/unsub.key", tmpdir);
    unlink(path);
    snprintf(path, sizeof(path), "%s/unsubscribed", tmpdir);
    unlink(path);
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        snprintf(path, sizeof(path), "%s/audit-%u.jsonl", tmpdir, (unsigned)i);
        unlink(path);
    }
    rmdir(tmpdir);
    return 0;
}

/* row_audit_last - the last line of the audit file (malloc'd), NULL when none */
static char *
row_audit_last(const char *path)
{
    FILE *fp = fopen(path, "r");
    char line[65536], *last = NULL;

    if (fp == NULL)
        return NULL;
    while (fgets(line, sizeof(line), fp) != NULL) {
        free(last);
        last = xstrdup(line);
    }
    fclose(fp);
    return last;
}

/* row_extra - the row's extra groups with "@T@" replaced by the test's directory (allocated) */
static char *
row_extra(const char *extra)
{
    char *out = xstrdup(""), *next;
    const char *p = extra != NULL ? extra : "", *at;

    while ((at = strstr(p, "@T@")) != NULL) {
        next = xasprintf("%s%.*s%s", out, (int)(at - p), p, tmpdir);
        free(out);
        out = next;
        p = at + 3;
    }
    next = xasprintf("%s%s", out, p);
    free(out);
    return next;
}

static void
row_run(const row *r)
{
    char cpath[256], apath[256], err[512];
    sm_conf *c;
    sm_msg *m;
    char *text, *rec, *extra = row_extra(r->extra);
    struct sockaddr_in sin;
    engine_input in;
    engine_input_header hdrs[3];
    size_t nh = 0;
    const char *rcpt = r->rcpt != NULL ? r->rcpt : "<rcpt@example.net>";
    int refused = -1;
    engine_input_result res;

    snprintf(cpath, sizeof(cpath), "%s/ses-milter.conf", tmpdir);
    /* a file per row: a later snapshot with the same file shares its writer */
    snprintf(apath, sizeof(apath), "%s/audit-%u.jsonl", tmpdir, (unsigned)(r - rows));
    text = xasprintf("scope: { %s };\n"
                     "identity: { plugin_dir = \"%s\"; sources = ( { name = \"t\"; "
                     "plugin = \"plugin_test\"; answers = \"" ANSWERS "\"; } ); %s };\n"
                     "audit: { file = \"%s\"; recipients = \"plain\"; fsync = \"never\"; };\n"
                     "%s",
                     r->scope, pdir, r->identity, apath, extra);
    assert_int_equal(plugin_write_file(cpath, text, 0644), 0);
    free(text);
    free(extra);
    c = conf_load(cpath, &services_conf_hooks, err, sizeof(err));
    if (c == NULL)
        fail_msg("%s: %s", r->name, err);
    if (conf_start(c, err, sizeof(err)) < 0)
        fail_msg("%s: %s", r->name, err);
    conf_publish(c);

    memset(&sin, 0, sizeof(sin));
    sin.sin_family = AF_INET;
    sin.sin_port = htons((uint16_t)r->port);
    if (r->client != NULL)
        assert_int_equal(inet_pton(AF_INET, r->client, &sin.sin_addr), 1);
    memset(&in, 0, sizeof(in));
    in.client = r->client != NULL ? (const struct sockaddr *)&sin : NULL;
    in.hostname = r->hostname;
    in.qid = "TABLE1";
    in.auth_authen = r->auth;
    in.env_from = r->env_from;
    in.rcpts = &rcpt;
    in.nrcpts = 1;
    in.rcpt_mailer = "smtp";
    hdrs[nh++] = (engine_input_header){"From", r->from};
    if (r->from == NULL)
        nh = 0;
    hdrs[nh++] = (engine_input_header){"Subject", "table"};
    hdrs[nh++] = (engine_input_header){"Message-ID", "<table@example.com>"};
    in.headers = hdrs;
    in.nheaders = nh;
    in.body = (const unsigned char *)"hello\r\n";
    in.bodylen = 7;

    m = msg_new();
    res = engine_input_run(m, &in, &refused, NULL);
    assert_int_equal(refused, ENGINE_RCPT_CONTINUE);
    if (engine_outgoing(m) != r->outgoing)
        fail_msg("%s: outgoing %d, want %d", r->name, engine_outgoing(m), r->outgoing);
    if (!r->outgoing) {
        assert_int_equal(res, ENGINE_INPUT_INBOUND);
        msg_free(m);
        assert_null(row_audit_last(apath));
        return;
    }
    assert_int_equal(res, ENGINE_INPUT_DECIDED);

    if (m->verdict.action != r->action)
        fail_msg("%s: action %s, want %s", r->name, verdict_action_name(m->verdict.action),
                 verdict_action_name(r->action));
    if (r->code != NULL) {
        assert_string_equal(m->verdict.code, r->code);
        assert_string_equal(m->verdict.xcode, r->xcode);
    }
    if (r->text != NULL && (m->verdict.text == NULL || strstr(m->verdict.text, r->text) == NULL))
        fail_msg("%s: reply text \"%s\" lacks \"%s\"", r->name,
                 m->verdict.text ? m->verdict.text : "", r->text);
    if (r->hdr != NULL) {
        int found = 0;
        for (size_t i = 0; i < m->verdict.nadd; i++) {
            char *h = xasprintf("%s: %s", m->verdict.add[i].name, m->verdict.add[i].value);
            found |= strncmp(h, r->hdr, strlen(r->hdr)) == 0;
            free(h);
        }
        if (!found)
            fail_msg("%s: no added header \"%s\"", r->name, r->hdr);
    }
    rec = row_audit_last(apath);
    if (rec == NULL)
        fail_msg("%s: no audit record", r->name);
    for (size_t i = 0; r->audit[i] != NULL; i++)
        if (strstr(rec, r->audit[i]) == NULL)
            fail_msg("%s: audit record lacks %s: %s", r->name, r->audit[i], rec);
    free(rec);
    msg_free(m);
}

static void
test_row(void **state)
{
    row_run(*state);
}

int
main(void)
{
    struct CMUnitTest tests[sizeof(rows) / sizeof(rows[0])];

    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        tests[i].name = rows[i].name;
        tests[i].test_func = test_row;
        tests[i].setup_func = NULL;
        tests[i].teardown_func = NULL;
        tests[i].initial_state = (void *)&rows[i];
    }
    return cmocka_run_group_tests(tests, setup, teardown);
}
