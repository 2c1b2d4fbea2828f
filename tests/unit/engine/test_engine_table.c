/*
 * test_engine_table.c - the engine's decisions as a table: facts in, verdict out
 *
 * Each row is one message through the engine without libmilter or a daemon:
 * the configuration (scope and identity gate settings over the scripted test
 * plugin), the connection (client address, hostname, AUTH), the envelope and
 * the From field in; the action, the SMTP reply (code, enhanced code, text),
 * the header fields added and the audit record's fields out.  The rows cover
 * every action the gate gives (accept, reject, tempfail, quarantine, tag),
 * every scope (external, authenticated, internal network, local submission,
 * all outgoing; its audit record says "internal-network", as engine_audit.c
 * maps it) and the failure mode of a source that cannot answer
 * (tempfail, or accept when the configuration fails open).  Discard comes
 * only from the unsubscribe store (unsub_honour.c), which needs a store and
 * is covered by its own tests.
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
#include "engine/msg.h"
#include "lib/util.h"
#include "plugin_dir.h"

static char *pdir;
static char tmpdir[] = "/tmp/test_engine_table.XXXXXX";

#define ANSWERS                                                                                    \
    "good@example.com=verified example.com=verified bad@example.org=not_verified "                 \
    "slow.example=tempfail"

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
    const char *audit[4];     /* substrings of the audit record, NULL-terminated */
} row;

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
     {NULL}},
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
     {"\"reason\":\"authenticated\"", "\"auth_user\":\"alice\"", "\"action\":\"accept\"", NULL}},
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
     {NULL}},
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
     {"\"reason\":\"internal-network\"", NULL}},
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
     {"\"reason\":\"local-submission\"", NULL}},
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
     {"\"outgoing\":true,\"reason\":\"internal-network\"", NULL}},
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
     {"\"action\":\"accept\"", NULL}},
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
     {"\"action\":\"reject\"", "\"answer\":\"not_verified\"", NULL}},
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
     {"\"action\":\"quarantine\"", NULL}},
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
     {"\"action\":\"tag\"", NULL}},
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
     {NULL}},
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
     {"\"action\":\"reject\"", NULL}},
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
     {"\"action\":\"tempfail\"", "\"answer\":\"tempfail\"", NULL}},
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
     {"\"action\":\"accept\"", NULL}},
};

static int
setup(void **state)
{
    (void)state;
    pdir = plugin_dir_make();
    if (mkdtemp(tmpdir) == NULL)
        return -1;
    return 0;
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

static void
row_run(const row *r)
{
    char cpath[256], apath[256], err[512];
    sm_conf *c;
    sm_msg *m;
    char *text, *rec;
    struct sockaddr_in sin;

    snprintf(cpath, sizeof(cpath), "%s/ses-milter.conf", tmpdir);
    /* a file per row: a later snapshot with the same file shares its writer */
    snprintf(apath, sizeof(apath), "%s/audit-%u.jsonl", tmpdir, (unsigned)(r - rows));
    text = xasprintf("scope: { %s };\n"
                     "identity: { plugin_dir = \"%s\"; sources = ( { name = \"t\"; "
                     "plugin = \"plugin_test\"; answers = \"" ANSWERS "\"; } ); %s };\n"
                     "audit: { file = \"%s\"; recipients = \"plain\"; fsync = \"never\"; };\n",
                     r->scope, pdir, r->identity, apath);
    assert_int_equal(plugin_write_file(cpath, text, 0644), 0);
    free(text);
    c = conf_load(cpath, &services_conf_hooks, err, sizeof(err));
    if (c == NULL)
        fail_msg("%s: %s", r->name, err);
    if (conf_start(c, err, sizeof(err)) < 0)
        fail_msg("%s: %s", r->name, err);
    conf_publish(c);

    m = msg_new();
    util_strlcpy(m->qid, "TABLE1", sizeof(m->qid));
    memset(&sin, 0, sizeof(sin));
    sin.sin_family = AF_INET;
    if (r->client != NULL) {
        assert_int_equal(inet_pton(AF_INET, r->client, &sin.sin_addr), 1);
        msg_set_client(m, r->hostname, (const struct sockaddr *)&sin);
    } else
        msg_set_client(m, r->hostname, NULL);
    m->client_port = r->port;
    if (r->auth != NULL)
        m->auth_authen = xstrdup(r->auth);
    m->env_from = xstrdup(r->env_from);
    assert_int_equal(engine_msg_start(m), 0);
    if (engine_outgoing(m) != r->outgoing)
        fail_msg("%s: outgoing %d, want %d", r->name, engine_outgoing(m), r->outgoing);
    if (!r->outgoing) {
        engine_pass_inbound(m);
        msg_free(m);
        assert_null(row_audit_last(apath));
        return;
    }
    assert_int_equal(engine_rcpt(m, "<rcpt@example.net>", "smtp", NULL), ENGINE_RCPT_CONTINUE);
    if (r->from != NULL)
        engine_header(m, "From", r->from);
    engine_header(m, "Subject", "table");
    if (engine_eoh(m))
        engine_body(m, (const unsigned char *)"hello\r\n", 7);
    engine_eom(m);

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
