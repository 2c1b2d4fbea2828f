/*
 * test_gate.c - the identity gate: configuration and decision
 *
 * Configuration: defaults, and errors that carry file:line (unknown
 * settings, unsafe reply templates, bad header names).  Decision: tables
 * of (config, message identities) -> verdict, action, SMTP reply, tag
 * header, driven by the scripted test plugin; malformed From and null
 * sender outcomes; a reply-injection attempt neutralised; the per-message
 * deadline.
 */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "engine/gate.h"
#include "plugin_dir.h"
#include "lib/util.h"

static char *pdir;

static int
setup(void **state)
{
    (void)state;
    pdir = plugin_dir_make();
    return 0;
}

static int
teardown(void **state)
{
    (void)state;
    plugin_dir_remove(pdir);
    return 0;
}

typedef struct env {
    gate_conf *gc;
    plugin_chain *ch;
    cache *c;
} env;

#define ANSWERS                                                                                    \
    "good@example.com=verified example.com=verified bad@example.org=not_verified "                 \
    "example.net=verified slow.example=tempfail"

/* env_load - parse "identity { plugin_dir; sources = test plugin; <extra> }" and load */
static int
env_load(env *e, const char *extra, char *err, size_t errlen)
{
    config_t cfg;
    char *text = xasprintf("identity: {\n plugin_dir = \"%s\";\n sources = ( { name = \"t\"; "
                           "plugin = \"plugin_test\"; answers = \"" ANSWERS "\"; } );\n%s\n};\n",
                           pdir, extra);
    int rc = -1;

    memset(e, 0, sizeof(*e));
    if (plugin_conf_read(&cfg, text) == 0 &&
        gate_conf_parse(config_lookup(&cfg, "identity"), &e->gc, err, errlen) == 0) {
        e->c = cache_new(&e->gc->cache);
        rc = gate_chain_load(e->gc, e->c, &e->ch, err, errlen);
    }
    config_destroy(&cfg);
    free(text);
    return rc;
}

static void
env_free(env *e)
{
    plugin_chain_free(e->ch);
    cache_free(e->c);
    gate_conf_free(e->gc);
}

static void
test_gate_conf_defaults(void **state)
{
    env e;
    char err[512];

    (void)state;
    assert_int_equal(env_load(&e, "", err, sizeof(err)), 0);
    assert_int_equal(e.gc->present, 1);
    assert_int_equal(e.gc->n_sources, 1);
    assert_int_equal(e.gc->combine, IDENTITY_COMBINE_FIRST);
    assert_int_equal(e.gc->action, GATE_CONF_ENFORCE);
    assert_int_equal(e.gc->on_tempfail, 0);
    assert_true(e.gc->check_from && e.gc->check_sender && e.gc->check_envelope_from);
    assert_string_equal(e.gc->label_separator, "+");
    assert_int_equal(e.gc->cache.positive_ttl, 300);
    assert_int_equal(e.gc->cache.negative_ttl, 60);
    assert_int_equal(e.gc->cache.max_entries, 100000);
    assert_int_equal(e.gc->cache.stale_max, 3600);
    assert_int_equal(e.gc->lookup_timeout_ms, 5000);
    assert_string_equal(e.gc->tag_header, "X-SES-Milter-Identity");
    assert_int_equal(e.gc->null_sender, GATE_NULL_CHECK_FROM);
    env_free(&e);
}

static void
test_gate_conf_errors_carry_file_line(void **state)
{
    static const struct {
        const char *extra;
        const char *expect;
    } t[] = {
        {"bogus = 1;", ":4: unknown setting 'identity.bogus'"},
        {"action = \"drop\";", ":4: 'identity.action' = \"drop\" is not one of"},
        {"reject_text = \"5.7.1 bad\\r\\nX-Injected: 1\";", ":4: identity.reject_text: contains "
                                                            "the non-printable character 0x0d"},
        {"tempfail_text = \"no %{sender} macro\";", ":4: identity.tempfail_text: unknown macro"},
        {"tag_header = \"X-Bad: header\";", ":4: identity.tag_header \"X-Bad: header\" is not"},
        {"label_separator = \"++\";", ":4: identity.label_separator must be one"},
        {"cache = { max_entries = 0; };", ":4: 'identity.cache.max_entries' = 0 is out of range"},
        {"cache = { ttl = 5; };", ":4: unknown setting 'identity.cache.ttl'"},
        {"overrides = ( { domain = \"a..b\"; action = \"monitor\"; } );",
         ":4: identity.overrides: domain \"a..b\""},
        {"overrides = ( { domain = \"x.example\"; action = \"drop\"; } );",
         ":4: override action \"drop\" is not one of"},
        {"overrides = ( { domain = \"x.example\"; color = \"red\"; } );",
         ":4: unknown setting 'color' in identity.overrides"},
        {"lookup_timeout_ms = 0;", ":4: 'identity.lookup_timeout_ms' = 0 is out of range"},
    };
    (void)state;
    for (size_t i = 0; i < SM_ARRAY_LEN(t); i++) {
        env e;
        char err[512] = "";
        if (env_load(&e, t[i].extra, err, sizeof(err)) != -1 || strstr(err, t[i].expect) == NULL)
            fail_msg("%s: err=\"%s\", expected \"%s\"", t[i].extra, err, t[i].expect);
        env_free(&e);
    }
}

static void
test_gate_conf_sources_required_and_checked(void **state)
{
    static const struct {
        const char *text;
        const char *expect;
    } t[] = {
        {"identity: { action = \"monitor\"; };", ":1: identity.sources: at least one"},
        {"identity: {\n sources = ( { name = \"a\"; } );\n};", ":2: identity source a: 'plugin'"},
        {"identity: {\n sources = ( { name = \"a\"; plugin = \"../evil\"; } );\n};",
         ":2: identity source a: plugin name \"../evil\" contains '/' or '..'"},
        {"identity: {\n sources = ( { name = \"a\"; plugin = \"f\"; },\n"
         " { name = \"a\"; plugin = \"f\"; } );\n};",
         ":3: identity source name \"a\" is used twice"},
        {"identity: {\n sources = ( \"file\" );\n};", ":2: identity.sources element 1 must be"},
    };
    (void)state;
    for (size_t i = 0; i < SM_ARRAY_LEN(t); i++) {
        config_t cfg;
        gate_conf *gc = NULL;
        char err[512] = "";
        assert_int_equal(plugin_conf_read(&cfg, t[i].text), 0);
        if (gate_conf_parse(config_lookup(&cfg, "identity"), &gc, err, sizeof(err)) != -1 ||
            strstr(err, t[i].expect) == NULL)
            fail_msg("case %zu: err=\"%s\", expected \"%s\"", i, err, t[i].expect);
        assert_null(gc);
        config_destroy(&cfg);
    }
}

static void
test_gate_without_identity_section_passes_everything(void **state)
{
    gate_conf *gc;
    gate_result r;
    gate_mailbox from = {"anyone", "example.org"};
    gate_input in = {.from_status = GATE_FROM_OK,
                     .from = &from,
                     .n_from = 1,
                     .envelope = &from,
                     .queue_id = "Q"};
    char err[256];
    FILE *fp = fopen("/dev/null", "w");

    (void)state;
    assert_int_equal(gate_conf_parse(NULL, &gc, err, sizeof(err)), 0);
    assert_int_equal(gc->present, 0);
    gate_conf_dump(fp, gc);
    fclose(fp);
    assert_int_equal(gate_check(gc, NULL, NULL, &in, &r, err, sizeof(err)), 0);
    assert_int_equal(r.verdict, GATE_PASS);
    assert_int_equal(r.action, GATE_ACCEPT);
    assert_int_equal(r.n_ids, 0);
    gate_result_clear(&r);
    gate_conf_free(gc);
}

typedef struct gate_case {
    const char *what;
    const char *conf; /* extra identity settings */
    gate_from_status fs;
    const char *from, *sender, *envelope; /* "local@domain"; NULL: absent / null sender */
    const char *policy_domain;
    gate_verdict verdict;
    gate_action action;
    const char *code, *text; /* expected reply ("" none) */
    const char *header;      /* expected tag header value ("" none) */
    int n_ids;
} gate_case;

/* split "l@d" into a mailbox (pointers into buf) */
static const gate_mailbox *
mbox(const char *s, char *buf, size_t len, gate_mailbox *mb)
{
    char *at;

    if (s == NULL)
        return NULL;
    util_strlcpy(buf, s, len);
    at = strrchr(buf, '@');
    *at = '\0';
    mb->local = buf;
    mb->domain = at + 1;
    return mb;
}

static void
run_gate_table(const gate_case *t, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        env e;
        char err[512] = "", b1[256], b2[256], b3[256];
        gate_mailbox m1, m2, m3;
        gate_input in;
        gate_result r;

        if (env_load(&e, t[i].conf, err, sizeof(err)) != 0)
            fail_msg("%s: %s", t[i].what, err);
        memset(&in, 0, sizeof(in));
        in.from_status = t[i].fs;
        in.from = mbox(t[i].from, b1, sizeof(b1), &m1);
        in.n_from = in.from != NULL;
        in.sender = mbox(t[i].sender, b2, sizeof(b2), &m2);
        in.envelope = mbox(t[i].envelope, b3, sizeof(b3), &m3);
        in.policy_domain = t[i].policy_domain;
        in.queue_id = "QID1";
        assert_int_equal(gate_check(e.gc, e.ch, e.c, &in, &r, err, sizeof(err)), 0);
        if (r.verdict != t[i].verdict || r.action != t[i].action ||
            strcmp(r.smtp_code, t[i].code) != 0 || strcmp(r.smtp_text, t[i].text) != 0 ||
            strcmp(r.header_value, t[i].header) != 0 || (int)r.n_ids != t[i].n_ids)
            fail_msg("%s:\n got %s/%s code \"%s\" text \"%s\" header \"%s\" ids %zu", t[i].what,
                     gate_verdict_name(r.verdict), gate_action_name(r.action), r.smtp_code,
                     r.smtp_text, r.header_value, r.n_ids);
        if (r.action == GATE_REJECT)
            assert_string_equal(r.smtp_xcode, "5.7.1");
        if (r.action == GATE_TEMPFAIL_ACT)
            assert_string_equal(r.smtp_xcode, "4.7.1");
        if (r.action == GATE_TAG)
            assert_string_equal(r.header_name, "X-SES-Milter-Identity");
        gate_result_clear(&r);
        env_free(&e);
    }
}

#define NV_TEXT "Sender identity <bad@example.org> is not verified for sending"
#define TF_TEXT "Sender identity <u@slow.example> could not be verified now, try again later"

static void
test_gate_actions_and_replies(void **state)
{
    static const gate_case t[] = {
        {"verified From and envelope pass", "", GATE_FROM_OK, "good@example.com", NULL,
         "bounce@example.com", NULL, GATE_PASS, GATE_ACCEPT, "", "", "", 2},
        {"enforce rejects with 550 5.7.1", "", GATE_FROM_OK, "bad@example.org", NULL,
         "good@example.com", NULL, GATE_NOT_VERIFIED, GATE_REJECT, "550", NV_TEXT, "", 2},
        {"quarantine", "action = \"quarantine\";", GATE_FROM_OK, "bad@example.org", NULL,
         "good@example.com", NULL, GATE_NOT_VERIFIED, GATE_QUARANTINE, "", "", "", 2},
        {"tag adds the header", "action = \"tag\";", GATE_FROM_OK, "bad@example.org", NULL,
         "good@example.com", NULL, GATE_NOT_VERIFIED, GATE_TAG, "", "",
         "not-verified; role=from; identity=<bad@example.org>", 2},
        {"monitor accepts", "action = \"monitor\";", GATE_FROM_OK, "bad@example.org", NULL,
         "good@example.com", NULL, GATE_NOT_VERIFIED, GATE_MONITOR, "", "", "", 2},
        {"unknown sender is not verified", "", GATE_FROM_OK, "x@unknown.example", NULL, NULL, NULL,
         GATE_NOT_VERIFIED, GATE_REJECT, "550",
         "Sender identity <x@unknown.example> is not verified for sending", "", 1},
        {"envelope sender checked", "", GATE_FROM_OK, "good@example.com", NULL, "b@unknown.example",
         NULL, GATE_NOT_VERIFIED, GATE_REJECT, "550",
         "Sender identity <b@unknown.example> is not verified for sending", "", 2},
        {"check_envelope_from = false", "check_envelope_from = false;", GATE_FROM_OK,
         "good@example.com", NULL, "b@unknown.example", NULL, GATE_PASS, GATE_ACCEPT, "", "", "",
         1},
        {"Sender header checked, role in the text",
         "reject_text = \"%{role} <%{identity}> 100%% refused\";", GATE_FROM_OK, "good@example.com",
         "bad@example.org", NULL, NULL, GATE_NOT_VERIFIED, GATE_REJECT, "550",
         "sender <bad@example.org> 100% refused", "", 2},
        {"check_sender = false", "check_sender = false;", GATE_FROM_OK, "good@example.com",
         "bad@example.org", NULL, NULL, GATE_PASS, GATE_ACCEPT, "", "", "", 1},
        {"tempfail gives 451 4.7.1", "", GATE_FROM_OK, "u@slow.example", NULL, NULL, NULL,
         GATE_TEMPFAIL, GATE_TEMPFAIL_ACT, "451", TF_TEXT, "", 1},
        {"on_tempfail accept is fail-open", "on_tempfail = \"accept\";", GATE_FROM_OK,
         "u@slow.example", NULL, NULL, NULL, GATE_TEMPFAIL, GATE_ACCEPT, "", "", "", 1},
        {"monitor never delays", "action = \"monitor\";", GATE_FROM_OK, "u@slow.example", NULL,
         NULL, NULL, GATE_TEMPFAIL, GATE_MONITOR, "", "", "", 1},
        {"not verified beats tempfail", "", GATE_FROM_OK, "u@slow.example", NULL, "bad@example.org",
         NULL, GATE_NOT_VERIFIED, GATE_REJECT, "550", NV_TEXT, "", 2},
        {"override by From domain",
         "overrides = ( { domain = \"example.org\"; action = "
         "\"monitor\"; } );",
         GATE_FROM_OK, "bad@example.org", NULL, NULL, NULL, GATE_NOT_VERIFIED, GATE_MONITOR, "", "",
         "", 1},
        {"override covers subdomains, most specific wins",
         "overrides = ( { domain = \"org\"; action = \"tag\"; },"
         " { domain = \"example.org\"; action = \"quarantine\"; } );",
         GATE_FROM_OK, "bad@example.org", NULL, NULL, "mail.example.org", GATE_NOT_VERIFIED,
         GATE_QUARANTINE, "", "", "", 1},
        {"override on_tempfail",
         "overrides = ( { domain = \"slow.example\"; on_tempfail = "
         "\"accept\"; } );",
         GATE_FROM_OK, "u@slow.example", NULL, NULL, NULL, GATE_TEMPFAIL, GATE_ACCEPT, "", "", "",
         1},
        {"override for another domain does not apply",
         "overrides = ( { domain = \"other.example\"; action = \"monitor\"; } );", GATE_FROM_OK,
         "bad@example.org", NULL, NULL, NULL, GATE_NOT_VERIFIED, GATE_REJECT, "550", NV_TEXT, "",
         1},
    };
    (void)state;
    run_gate_table(t, SM_ARRAY_LEN(t));
}

static void
test_gate_malformed_from_and_null_sender(void **state)
{
    static const gate_case t[] = {
        {"no From refused", "", GATE_FROM_NONE, NULL, NULL, "good@example.com", NULL,
         GATE_MALFORMED, GATE_REJECT, "550",
         "Message has no From header field, the sender cannot be verified", "", 0},
        {"multiple From refused", "", GATE_FROM_MULTIPLE, NULL, NULL, "good@example.com", NULL,
         GATE_MALFORMED, GATE_REJECT, "550", "Message has more than one From header field", "", 0},
        {"unparseable From refused", "", GATE_FROM_UNPARSEABLE, NULL, NULL, "good@example.com",
         NULL, GATE_MALFORMED, GATE_REJECT, "550", "The From header field has no valid address", "",
         0},
        {"no_from = accept", "no_from = \"accept\";", GATE_FROM_NONE, NULL, NULL,
         "good@example.com", NULL, GATE_MALFORMED, GATE_ACCEPT, "", "", "", 0},
        {"multiple_from = tempfail",
         "multiple_from = \"tempfail\"; multiple_from_text = "
         "\"4.7.0 Try later\";",
         GATE_FROM_MULTIPLE, NULL, NULL, NULL, NULL, GATE_MALFORMED, GATE_TEMPFAIL_ACT, "451",
         "Try later", "", 0},
        {"From naming no mailbox (empty group) refused with its own text", "", GATE_FROM_EMPTY,
         NULL, NULL, "good@example.com", NULL, GATE_MALFORMED, GATE_REJECT, "550",
         "The From header field names no mailbox, only an empty group", "", 0},
        {"empty group follows unparseable_from", "unparseable_from = \"accept\";", GATE_FROM_EMPTY,
         NULL, NULL, "good@example.com", NULL, GATE_MALFORMED, GATE_ACCEPT, "", "", "", 0},
        {"unparseable_from = tag", "unparseable_from = \"tag\";", GATE_FROM_UNPARSEABLE, NULL, NULL,
         NULL, NULL, GATE_MALFORMED, GATE_TAG, "", "", "malformed; role=from; identity=<>", 0},
        {"check_from = false ignores a missing From", "check_from = false;", GATE_FROM_NONE, NULL,
         NULL, "good@example.com", NULL, GATE_PASS, GATE_ACCEPT, "", "", "", 1},
        {"null sender: From only (verified)", "", GATE_FROM_OK, "good@example.com", NULL, NULL,
         NULL, GATE_PASS, GATE_ACCEPT, "", "", "", 1},
        {"null sender: From only (not verified)", "", GATE_FROM_OK, "bad@example.org", NULL, NULL,
         NULL, GATE_NOT_VERIFIED, GATE_REJECT, "550", NV_TEXT, "", 1},
        {"null_sender = accept skips the gate", "null_sender = \"accept\";", GATE_FROM_OK,
         "bad@example.org", NULL, NULL, NULL, GATE_PASS, GATE_ACCEPT, "", "", "", 0},
        {"null_sender = reject", "null_sender = \"reject\";", GATE_FROM_OK, "good@example.com",
         NULL, NULL, NULL, GATE_MALFORMED, GATE_REJECT, "550",
         "Mail from the null sender is not accepted here", "", 0},
    };
    (void)state;
    run_gate_table(t, SM_ARRAY_LEN(t));
}

/* a crafted identity can put nothing but safe characters into a reply or header */
static void
test_gate_identity_injection_neutralised(void **state)
{
    static const struct {
        const char *local, *domain;
    } t[] = {
        {"evil\r\n250 2.0.0 OK", "example.org"},     {"\"a>b\r\nX-Injected: yes\"", "example.org"},
        {"100%s%n%{identity}", "example.org"},       {"x", "example.org\r\nX-Injected: yes"},
        {"\"caf\xc3\xa9 <script>\"", "example.org"},
    };
    env e;
    char err[512];

    (void)state;
    assert_int_equal(env_load(&e, "", err, sizeof(err)), 0);
    for (size_t i = 0; i < SM_ARRAY_LEN(t); i++) {
        gate_mailbox from = {t[i].local, t[i].domain};
        gate_input in = {.from_status = GATE_FROM_OK, .from = &from, .n_from = 1, .queue_id = "Q"};
        gate_result r;

        for (int tag = 0; tag < 2; tag++) {
            e.gc->action = tag ? GATE_CONF_TAG : GATE_CONF_ENFORCE;
            assert_int_equal(gate_check(e.gc, e.ch, e.c, &in, &r, err, sizeof(err)), 0);
            assert_int_equal(r.verdict, GATE_NOT_VERIFIED);
            assert_int_equal(r.action, tag ? GATE_TAG : GATE_REJECT);
            for (const char *p = tag ? r.header_value : r.smtp_text; *p; p++)
                if (strncmp(p, "\\u{", 3) == 0) /* the escape of a non-ASCII character */
                    p += 2;
                else if ((unsigned char)*p < 0x20 || (unsigned char)*p > 0x7e || *p == '%' ||
                         *p == '"' || *p == '\\')
                    fail_msg("case %zu: unsafe byte 0x%02x in \"%s\"", i, (unsigned char)*p,
                             tag ? r.header_value : r.smtp_text);
            for (const char *p = r.reason; *p; p++)
                assert_true((unsigned char)*p >= 0x20 && (unsigned char)*p <= 0x7e);
            gate_result_clear(&r);
        }
    }
    env_free(&e);
}

static void
test_gate_expand_macros_and_fixed_codes(void **state)
{
    static const struct {
        const char *tmpl, *id, *role;
        int utf8;
        const char *expect;
    } t[] = {
        {"5.7.1 Sender <%{identity}> refused", "a@b.example", "from", 0,
         "Sender <a@b.example> refused"},
        {"4.7.1 later", "", "from", 0, "later"},
        {"No code %{role}: %{identity}", "a@b", "envelope", 0, "No code envelope: a@b"},
        {"50%% off", "x", "from", 0, "50% off"},
        {"<%{identity}>", "a b\"c%d\r\n", "from", 1,
         "<a?b?c?d?"
         "?>"},
        {"5.7.1x not a code", "", "from", 0, "5.7.1x not a code"},
        /* a non-ASCII local part stays readable: never "??" */
        {"<%{identity}>", "j\xc3\xb6s\xc3\xa9@x.example", "from", 0,
         "<j\\u{f6}s\\u{e9}@x.example>"},
        {"<%{identity}>", "j\xc3\xb6s\xc3\xa9@x.example", "from", 1,
         "<j\xc3\xb6s\xc3\xa9@x.example>"},
        {"<%{identity}>", "\xf0\x9f\x98\x80@x", "from", 0, "<\\u{1f600}@x>"},
        {"<%{identity}>", "\xf0\x9f\x98\x80@x", "from", 1, "<\xf0\x9f\x98\x80@x>"},
        /* hidden code points are escaped even with SMTPUTF8; ill-formed bytes are '?' */
        {"<%{identity}>",
         "a\xe2\x80\xae"
         "b@x",
         "from", 1, "<a\\u{202e}b@x>"},
        {"<%{identity}>", "a\xc2\x85@x", "from", 1, "<a\\u{85}@x>"},
        {"<%{identity}>", "a\xc0\xaf\xed\xa0\x80@x", "from", 1, "<a?????@x>"},
        {"<%{identity}>", "a\\u{41}@x", "from", 0, "<a?u{41}@x>"}, /* no forged escape */
        /* only the identity may carry UTF-8: the role stays ASCII */
        {"%{role}", "\xc3\xa9", "fr\xc3\xb6m", 1, "fr\\u{f6}m"},
    };
    (void)state;
    for (size_t i = 0; i < SM_ARRAY_LEN(t); i++) {
        char out[512];
        gate_expand(t[i].tmpl, t[i].id, t[i].role, t[i].utf8, out, sizeof(out));
        if (strcmp(out, t[i].expect) != 0)
            fail_msg("case %zu: got \"%s\", expected \"%s\"", i, out, t[i].expect);
    }
}

/* a truncated reply never ends in half a character or half an escape */
static void
test_gate_expand_truncates_whole_characters(void **state)
{
    char out[8];
    (void)state;
    gate_expand("%{identity}", "abcd\xc3\xb6\xc3\xb6", "from", 1, out, sizeof(out));
    assert_string_equal(out, "abcd\xc3\xb6"); /* 6 bytes: the second o-umlaut does not fit */
    gate_expand("%{identity}", "abc\xc3\xb6", "from", 0, out, sizeof(out));
    assert_string_equal(out, "abc"); /* \u{f6} needs 6 more */
}

/* a Sender that is not one mailbox, and a header over the limit: defined outcomes,
 * the malformed Sender recorded as a not-verified identity for the audit record */
static void
test_gate_malformed_sender_and_header_overflow(void **state)
{
    static const struct {
        const char *what, *conf;
        gate_from_status ss;
        const char *overflow;
        gate_verdict verdict;
        gate_action action;
        const char *text, *reason;
        size_t n_ids;
    } t[] = {
        {"unparseable Sender refused", "", GATE_FROM_UNPARSEABLE, NULL, GATE_MALFORMED, GATE_REJECT,
         "The Sender header field is not one valid address",
         "Sender header field without a valid address", 1},
        {"two Sender fields refused", "", GATE_FROM_MULTIPLE, NULL, GATE_MALFORMED, GATE_REJECT,
         "The Sender header field is not one valid address", "more than one Sender header field",
         1},
        {"unparseable_sender = tempfail",
         "unparseable_sender = \"tempfail\"; unparseable_sender_text = \"4.7.0 Later\";",
         GATE_FROM_UNPARSEABLE, NULL, GATE_MALFORMED, GATE_TEMPFAIL_ACT, "Later",
         "Sender header field without a valid address", 1},
        {"unparseable_sender = accept: From and envelope still checked",
         "unparseable_sender = \"accept\";", GATE_FROM_UNPARSEABLE, NULL, GATE_PASS, GATE_ACCEPT,
         "", "", 2},
        {"check_sender = false ignores it", "check_sender = false;", GATE_FROM_UNPARSEABLE, NULL,
         GATE_PASS, GATE_ACCEPT, "", "", 2},
        {"header overflow refused naming the limit", "", GATE_FROM_NONE, "over the limit",
         GATE_MALFORMED, GATE_REJECT,
         "Message header exceeds the limit of 1000 fields or 262144 bytes; the sender cannot be "
         "verified",
         "over the limit", 0},
        {"header_overflow = quarantine", "header_overflow = \"quarantine\";", GATE_FROM_NONE,
         "over the limit", GATE_MALFORMED, GATE_QUARANTINE, "", "over the limit", 0},
        {"header_overflow = accept checks what was kept", "header_overflow = \"accept\";",
         GATE_FROM_NONE, "over the limit", GATE_PASS, GATE_ACCEPT, "", "", 2},
    };
    (void)state;
    for (size_t i = 0; i < SM_ARRAY_LEN(t); i++) {
        env e;
        char err[512] = "";
        gate_mailbox from = {"good", "example.com"};
        gate_input in;
        gate_result r;

        if (env_load(&e, t[i].conf, err, sizeof(err)) != 0)
            fail_msg("%s: %s", t[i].what, err);
        memset(&in, 0, sizeof(in));
        in.from_status = GATE_FROM_OK;
        in.from = &from;
        in.n_from = 1;
        in.envelope = &from;
        in.queue_id = "Q";
        in.sender_status = t[i].ss;
        in.sender_field = "not an address";
        in.hdr_overflow = t[i].overflow;
        assert_int_equal(gate_check(e.gc, e.ch, e.c, &in, &r, err, sizeof(err)), 0);
        if (r.verdict != t[i].verdict || r.action != t[i].action ||
            strcmp(r.smtp_text, t[i].text) != 0 || strcmp(r.reason, t[i].reason) != 0 ||
            r.n_ids != t[i].n_ids)
            fail_msg("%s: got %s/%s text \"%s\" reason \"%s\" ids %zu", t[i].what,
                     gate_verdict_name(r.verdict), gate_action_name(r.action), r.smtp_text,
                     r.reason, r.n_ids);
        if (t[i].verdict == GATE_MALFORMED && t[i].n_ids == 1) {
            assert_int_equal(r.decisive, 0);
            assert_int_equal(r.ids[0].role, GATE_ROLE_SENDER);
            assert_int_equal(r.ids[0].r.answer, SM_ID_NOT_VERIFIED);
            assert_string_equal(r.ids[0].r.address, "not?an?address");
        }
        gate_result_clear(&r);
        env_free(&e);
    }
}

static void
test_gate_per_message_deadline_bounds_slow_sources(void **state)
{
    config_t cfg;
    gate_conf *gc = NULL;
    plugin_chain *ch = NULL;
    cache *c;
    char err[512] = "", *text;
    gate_mailbox from = {"u", "example.com"};
    gate_input in = {.from_status = GATE_FROM_OK,
                     .from = &from,
                     .n_from = 1,
                     .envelope = &from,
                     .queue_id = "Q"};
    gate_result r;
    uint64_t t0;

    (void)state;
    text = xasprintf("identity: { plugin_dir = \"%s\"; lookup_timeout_ms = 150;\n"
                     " sources = ( { name = \"slow\"; plugin = \"plugin_test\"; delay_ms = 3000;"
                     " default = \"verified\"; } ); };",
                     pdir);
    assert_int_equal(plugin_conf_read(&cfg, text), 0);
    assert_int_equal(gate_conf_parse(config_lookup(&cfg, "identity"), &gc, err, sizeof(err)), 0);
    c = cache_new(&gc->cache);
    assert_int_equal(gate_chain_load(gc, c, &ch, err, sizeof(err)), 0);
    config_destroy(&cfg);
    t0 = util_now_ms();
    assert_int_equal(gate_check(gc, ch, c, &in, &r, err, sizeof(err)), 0);
    assert_true(util_now_ms() - t0 < 1000);
    assert_int_equal(r.verdict, GATE_TEMPFAIL);
    assert_int_equal(r.action, GATE_TEMPFAIL_ACT);
    assert_string_equal(r.smtp_code, "451");
    gate_result_clear(&r);
    plugin_chain_free(ch);
    cache_free(c);
    gate_conf_free(gc);
    free(text);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_gate_conf_defaults),
        cmocka_unit_test(test_gate_conf_errors_carry_file_line),
        cmocka_unit_test(test_gate_conf_sources_required_and_checked),
        cmocka_unit_test(test_gate_without_identity_section_passes_everything),
        cmocka_unit_test(test_gate_actions_and_replies),
        cmocka_unit_test(test_gate_malformed_from_and_null_sender),
        cmocka_unit_test(test_gate_identity_injection_neutralised),
        cmocka_unit_test(test_gate_expand_macros_and_fixed_codes),
        cmocka_unit_test(test_gate_expand_truncates_whole_characters),
        cmocka_unit_test(test_gate_malformed_sender_and_header_overflow),
        cmocka_unit_test(test_gate_per_message_deadline_bounds_slow_sources),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
