/*
 * test_audit_record.c - the audit record (schema v1), the summary line, the config group
 *
 * Proves: every documented field is present and typed for accepted,
 * refused, tempfailed and aborted messages (checked by the in-code schema,
 * which itself is shown to reject broken records); recipients are plain,
 * keyed hashes or omitted as configured; invalid UTF-8 still gives JSON;
 * the syslog summary has its fixed layout; the "audit" group refuses bad
 * settings with file:line.
 */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "test_audit_util.h"

static const audit_record_opts plain_opts = {AUDIT_RCPT_PLAIN, NULL, NULL};

/* build - the record of m as a parsed object, after checking the line itself */
static json_t *
build(const audit_msg *m, const audit_record_opts *o)
{
    size_t len, off;
    char *line = audit_record_build(m, o, &len, &off);
    json_t *rec;

    assert_int_equal(strlen(line), len);
    assert_null(strchr(line, '\n'));
    assert_memory_equal(line + off, AUDIT_CHAIN_GENESIS, 64);
    assert_memory_equal(line, "{\"v\":2,\"alg\":\"", 14);
    rec = json_loadb(line, len, JSON_REJECT_DUPLICATES, NULL);
    assert_non_null(rec);
    free(line);
    return rec;
}

static const char *
str(const json_t *rec, const char *path)
{
    json_t *v = json_object_get(rec, path);
    return json_string_value(v);
}

static void
test_record_every_field_typed_for_each_kind_of_message(void **state)
{
    static const struct {
        audit_msg (*make)(void);
        const char *action, *outcome, *scope_reason;
        int outgoing; /* 1, 0 */
        long reply_code;
    } cases[] = {
        {ta_msg_accepted, "accept", "completed", "authenticated", 1, 0},
        {ta_msg_refused, "reject", "completed", "internal-network", 1, 550},
        {ta_msg_tempfailed, "tempfail", "completed", "local-submission", 1, 451},
        {ta_msg_aborted, "aborted", "aborted", "external", 0, 0},
    };
    (void)state;
    for (size_t i = 0; i < SM_ARRAY_LEN(cases); i++) {
        audit_msg m = cases[i].make();
        json_t *rec = build(&m, &plain_opts), *scope = json_object_get(rec, "scope");
        char err[256] = "";

        if (audit_record_validate(rec, err, sizeof(err)) != 0)
            fail_msg("case %zu: %s", i, err);
        assert_string_equal(str(rec, "action"), cases[i].action);
        assert_string_equal(str(rec, "outcome"), cases[i].outcome);
        assert_string_equal(str(scope, "reason"), cases[i].scope_reason);
        assert_int_equal(json_is_true(json_object_get(scope, "outgoing")), cases[i].outgoing);
        assert_int_equal(json_integer_value(json_object_get(json_object_get(rec, "reply"), "code")),
                         cases[i].reply_code);
        assert_int_equal(json_integer_value(json_object_get(rec, "rcpt_count")), m.n_rcpts);
        json_decref(rec);
    }
}

static void
test_record_accepted_carries_the_facts_given(void **state)
{
    audit_msg m = ta_msg_accepted();
    json_t *rec = build(&m, &plain_opts);
    json_t *l0 = json_array_get(json_object_get(rec, "lookups"), 0);
    json_t *dmarc = json_object_get(rec, "dmarc");

    (void)state;
    assert_string_equal(str(rec, "time"), "2026-11-24T10:00:00.123Z");
    assert_string_equal(str(rec, "qid"), "4AbC1x2Yz");
    assert_string_equal(str(rec, "alg"), "sha256");
    assert_string_equal(str(rec, "rcpt_mode"), "plain");
    assert_string_equal(json_string_value(json_array_get(json_object_get(rec, "rcpts"), 0)),
                        "Bob@Example.NET");
    assert_string_equal(str(l0, "role"), "from");
    assert_string_equal(str(l0, "matched"), "example.com");
    assert_string_equal(str(l0, "answer"), "verified");
    assert_string_equal(str(l0, "cache"), "hit");
    assert_int_equal(json_integer_value(json_object_get(l0, "age_s")), 42);
    assert_true(json_is_true(json_object_get(dmarc, "aligned_dkim")));
    assert_int_equal(json_array_size(json_object_get(rec, "unsub")), 2);
    assert_string_equal(str(rec, "version"), "0.1.0-test");
    assert_true(json_is_null(json_object_get(rec, "reply")));
    json_decref(rec);
}

static void
test_record_aborted_leaves_unknowns_null(void **state)
{
    static const char *const nulls[] = {"qid", "auth_user", "env_from", "from",  "sender",
                                        "spf", "dmarc",     "reply",    "config"};
    audit_msg m = ta_msg_aborted();
    json_t *rec = build(&m, &plain_opts);

    (void)state;
    for (size_t i = 0; i < SM_ARRAY_LEN(nulls); i++)
        if (!json_is_null(json_object_get(rec, nulls[i])))
            fail_msg("%s is not null", nulls[i]);
    assert_int_equal(json_array_size(json_object_get(rec, "lookups")), 0);
    assert_string_equal(str(rec, "version"), PACKAGE_VERSION);
    json_decref(rec);
}

/* mutations of a valid record that the schema check must refuse */
static void
test_schema_check_refuses_broken_records(void **state)
{
    static const struct {
        const char *key;
        const char *json; /* replacement value; NULL: delete the key */
        const char *why;
    } cases[] = {
        {"qid", "17", "qid: not a string"},
        {"v", "3", "v: not a schema version from 1 to 2"},
        {"v", "0", "v: not a schema version from 1 to 2"},
        {"prev", "\"abc\"", "prev: not 64 hex"},
        {"time", "\"2026-11-24 10:00:00\"", "time: not YYYY"},
        {"action", "\"maybe\"", "action: not an allowed value"},
        {"rcpt_count", "-1", "rcpt_count: not an integer"},
        {"rcpt_count", "5", "rcpts: length differs"},
        {"lookups", "[{\"identity\":\"a@b\"}]", "lookups[0].role: missing"},
        {"scope", "{\"reason\":\"external\",\"outgoing\":false}", "scope.reason: key out of order"},
        {"version", "null", "version: must not be null"},
        {"outcome", NULL, "outcome: missing"},
    };
    (void)state;
    for (size_t i = 0; i < SM_ARRAY_LEN(cases); i++) {
        audit_msg m = ta_msg_accepted();
        json_t *rec = build(&m, &plain_opts);
        char err[256] = "";

        if (cases[i].json == NULL)
            json_object_del(rec, cases[i].key);
        else
            json_object_set_new(rec, cases[i].key,
                                json_loads(cases[i].json, JSON_DECODE_ANY, NULL));
        assert_int_equal(audit_record_validate(rec, err, sizeof(err)), -1);
        if (strstr(err, cases[i].why) == NULL)
            fail_msg("case %zu: expected \"%s\", got \"%s\"", i, cases[i].why, err);
        json_decref(rec);
    }
    /* and an extra key at the end */
    {
        audit_msg m = ta_msg_accepted();
        json_t *rec = build(&m, &plain_opts);
        json_object_set_new(rec, "extra", json_true());
        assert_int_equal(audit_record_validate(rec, NULL, 0), -1);
        json_decref(rec);
    }
}

/* each cache origin is written by its name, and a record with it validates */
static void
test_lookup_cache_origin_written_by_name(void **state)
{
    static const struct {
        audit_cache c;
        const char *want; /* NULL: json null */
    } cases[] = {
        {AUDIT_CACHE_NONE, NULL},     {AUDIT_CACHE_HIT, "hit"},     {AUDIT_CACHE_MISS, "miss"},
        {AUDIT_CACHE_STALE, "stale"}, {AUDIT_CACHE_REDIS, "redis"}, /* the fleet's answer, from the
                                                                       state backend */
    };
    (void)state;
    for (size_t i = 0; i < SM_ARRAY_LEN(cases); i++) {
        audit_msg m = ta_msg_accepted();
        audit_lookup l = ta_lookup_ok[0];
        json_t *rec, *c;
        char err[256] = "";

        l.cache = cases[i].c;
        m.lookups = &l;
        m.n_lookups = 1;
        rec = build(&m, &plain_opts);
        c = json_object_get(json_array_get(json_object_get(rec, "lookups"), 0), "cache");
        if (cases[i].want == NULL)
            assert_true(json_is_null(c));
        else
            assert_string_equal(json_string_value(c), cases[i].want);
        if (audit_record_validate(rec, err, sizeof(err)) != 0)
            fail_msg("cache %s: refused: %s", cases[i].want ? cases[i].want : "null", err);
        json_decref(rec);
    }
}

/*
 * each record is checked against the key set of the version it names: a v1
 * record (written before scope.system_mail existed) still validates, and
 * neither version may carry the other's key set
 */
/* the top-level keys schema v2 added (besides scope.system_mail) */
static const char *const v2_keys[] = {"providers",      "suppression",  "ses_headers",
                                      "refused_region", "unsubscribed", "account"};

static void
test_schema_version_decides_the_key_set(void **state)
{
    static const struct {
        const char *name;
        int v;           /* "v" written into the record */
        int system_mail; /* keep scope.system_mail */
        int valid;
    } cases[] = {
        {"v2 with system_mail", 2, 1, 1},
        {"v1 without system_mail", 1, 0, 1},
        {"v1 with a v2 key", 1, 1, 0},
        {"v2 without its new key", 2, 0, 0},
    };
    (void)state;
    for (size_t i = 0; i < SM_ARRAY_LEN(cases); i++) {
        audit_msg m = ta_msg_accepted();
        json_t *rec = build(&m, &plain_opts);
        char err[256] = "";

        json_object_set_new(rec, "v", json_integer(cases[i].v));
        if (!cases[i].system_mail)
            json_object_del(json_object_get(rec, "scope"), "system_mail");
        /* the other keys v2 added go when the case is about v1 */
        if (cases[i].v == 1)
            for (size_t k = 0; k < SM_ARRAY_LEN(v2_keys); k++)
                json_object_del(rec, v2_keys[k]);
        if ((audit_record_validate(rec, err, sizeof(err)) == 0) != cases[i].valid)
            fail_msg("%s: expected %s, got \"%s\"", cases[i].name,
                     cases[i].valid ? "valid" : "refused", err);
        json_decref(rec);
    }
}

/* system mail passed without the gate says so, and why; other mail says null */
static void
test_record_marks_system_mail_and_why(void **state)
{
    static const struct {
        audit_sysmail s;
        const char *want; /* NULL: json null */
    } cases[] = {
        {AUDIT_SYSMAIL_NONE, NULL},
        {AUDIT_SYSMAIL_LOCAL, "local-recipients"},
        {AUDIT_SYSMAIL_BOUNCE, "bounce"},
    };
    (void)state;
    for (size_t i = 0; i < SM_ARRAY_LEN(cases); i++) {
        audit_msg m = ta_msg_accepted();
        json_t *rec, *sm;

        m.system_mail = cases[i].s;
        rec = build(&m, &plain_opts);
        sm = json_object_get(json_object_get(rec, "scope"), "system_mail");
        if (cases[i].want == NULL)
            assert_true(json_is_null(sm));
        else
            assert_string_equal(json_string_value(sm), cases[i].want);
        assert_int_equal(audit_record_validate(rec, NULL, 0), 0);
        json_decref(rec);
    }
}

static void
test_recipients_hashed_same_address_same_hash_under_one_key(void **state)
{
    static const char *const r1[] = {"Bob@Example.NET", "bob@example.net", "carol@example.org"};
    audit_key k1 = {(unsigned char *)"0123456789abcdef", 16};
    audit_key k2 = {(unsigned char *)"fedcba9876543210", 16};
    audit_record_opts o1 = {AUDIT_RCPT_HASHED, &k1, NULL}, o2 = {AUDIT_RCPT_HASHED, &k2, NULL};
    audit_msg m = ta_msg_accepted();
    json_t *a, *b, *ra, *rb;
    char *line;
    size_t len, off;

    (void)state;
    m.rcpts = r1;
    m.n_rcpts = 3;
    a = build(&m, &o1);
    b = build(&m, &o2);
    ra = json_object_get(a, "rcpts");
    rb = json_object_get(b, "rcpts");
    assert_string_equal(str(a, "rcpt_mode"), "hashed");
    assert_int_equal(strlen(json_string_value(json_array_get(ra, 0))), 64);
    assert_string_equal(json_string_value(json_array_get(ra, 0)),
                        json_string_value(json_array_get(ra, 1)));
    assert_string_not_equal(json_string_value(json_array_get(ra, 0)),
                            json_string_value(json_array_get(ra, 2)));
    assert_string_not_equal(json_string_value(json_array_get(ra, 0)),
                            json_string_value(json_array_get(rb, 0)));
    assert_int_equal(audit_record_validate(a, NULL, 0), 0);
    line = audit_record_build(&m, &o1, &len, &off);
    assert_null(strstr(line, "carol"));
    free(line);
    json_decref(a);
    json_decref(b);
}

static void
test_recipients_omitted_keeps_the_count(void **state)
{
    audit_record_opts o = {AUDIT_RCPT_OMIT, NULL, NULL};
    audit_msg m = ta_msg_accepted();
    json_t *rec = build(&m, &o);

    (void)state;
    assert_true(json_is_null(json_object_get(rec, "rcpts")));
    assert_int_equal(json_integer_value(json_object_get(rec, "rcpt_count")), 2);
    assert_string_equal(str(rec, "rcpt_mode"), "omit");
    assert_int_equal(audit_record_validate(rec, NULL, 0), 0);
    json_decref(rec);
}

static void
test_record_with_invalid_utf8_and_controls_is_still_one_json_line(void **state)
{
    audit_msg m = ta_msg_accepted();
    json_t *rec;

    (void)state;
    m.from = "bad\xff\xfe@example.com";
    m.reply_text = "line1\r\nline2\"quoted\"";
    rec = build(&m, &plain_opts);
    assert_string_equal(str(rec, "from"), "bad\\xff\\xfe@example.com");
    assert_string_equal(json_string_value(json_object_get(json_object_get(rec, "reply"), "text")),
                        "line1\r\nline2\"quoted\"");
    assert_int_equal(audit_record_validate(rec, NULL, 0), 0);
    json_decref(rec);
}

static void
test_record_time_is_iso8601_utc_with_ms(void **state)
{
    static const struct {
        uint64_t ms;
        const char *want;
    } cases[] = {
        {0, "1970-01-01T00:00:00.000Z"},
        {TA_T0 + 7, "2026-11-24T10:00:00.007Z"},
        {951782400999ULL, "2000-02-29T00:00:00.999Z"},
    };
    char buf[40];

    (void)state;
    for (size_t i = 0; i < SM_ARRAY_LEN(cases); i++)
        assert_string_equal(audit_record_time(cases[i].ms, buf, sizeof(buf)), cases[i].want);
}

static void
test_summary_line_has_the_fixed_layout(void **state)
{
    static const struct {
        audit_msg (*make)(void);
        const char *want;
    } cases[] = {
        {ta_msg_refused, "5DeF3g4Hi: action=reject outcome=completed scope=internal-network "
                         "from=<mallory@evil.test> env_from=<mallory@evil.test> rcpts=1 "
                         "identity=mallory@evil.test:not_verified dmarc=fail providers=- "
                         "reply=\"550 5.7.1 Sender identity mallory@evil.test is not verified\""},
        {ta_msg_accepted, "4AbC1x2Yz: action=accept outcome=completed scope=authenticated "
                          "from=<alice@example.com> env_from=<bounce@mail.example.com> rcpts=2 "
                          "identity=alice@example.com:verified dmarc=pass providers=- reply=-"},
        {ta_msg_aborted, "NOQUEUE: action=aborted outcome=aborted scope=external from=- "
                         "env_from=- rcpts=0 identity=- dmarc=- providers=- reply=-"},
    };
    char buf[1024];

    (void)state;
    for (size_t i = 0; i < SM_ARRAY_LEN(cases); i++) {
        audit_msg m = cases[i].make();
        audit_summary_line(&m, buf, sizeof(buf));
        assert_string_equal(buf, cases[i].want);
    }
}

/* v2 addition: the providers' verdicts, in the record just before "action" and in the line */
static void
test_record_and_line_carry_provider_verdicts(void **state)
{
    static const char *const none[] = {NULL};
    static const char *const outlook_failed[] = {"spf-pass", "aligned"};
    const audit_provider prov[] = {{"gmail", "pass", none, 0},
                                   {"outlook", "fail", outlook_failed, 2}};
    audit_msg m = ta_msg_accepted();
    json_t *rec, *p1;
    char err[256] = "", buf[1024];
    const char *key = NULL, *prev = NULL;
    json_t *v;

    (void)state;
    m.providers = prov;
    m.n_providers = 2;
    rec = build(&m, &plain_opts);
    if (audit_record_validate(rec, err, sizeof(err)) != 0)
        fail_msg("%s", err);
    json_object_foreach(rec, key, v)
    {
        if (strcmp(key, "providers") == 0)
            break;
        prev = key;
    }
    assert_string_equal(prev, "unsub"); /* the first v2 key after the unsubscribe headers */
    p1 = json_array_get(json_object_get(rec, "providers"), 1);
    assert_string_equal(str(p1, "name"), "outlook");
    assert_string_equal(str(p1, "result"), "fail");
    assert_string_equal(json_string_value(json_array_get(json_object_get(p1, "failed"), 1)),
                        "aligned");
    json_decref(rec);
    audit_summary_line(&m, buf, sizeof(buf));
    assert_non_null(strstr(buf, " dmarc=pass providers=gmail:pass,outlook:fail(spf-pass+aligned) "
                                "reply=-"));
    /* not evaluated: null, and "-" in the line */
    m.providers = NULL;
    m.n_providers = 0;
    rec = build(&m, &plain_opts);
    assert_true(json_is_null(json_object_get(rec, "providers")));
    assert_int_equal(audit_record_validate(rec, err, sizeof(err)), 0);
    json_decref(rec);
    /* a result outside pass / fail / unknown does not validate */
    m.providers = prov;
    m.n_providers = 1;
    rec = build(&m, &plain_opts);
    json_object_set_new(json_array_get(json_object_get(rec, "providers"), 0), "result",
                        json_string("maybe"));
    assert_int_equal(audit_record_validate(rec, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "providers[0].result"));
    json_decref(rec);
}

/* a verified From and a refused envelope sender: the line names the refused one */
static void
test_summary_line_names_the_identity_behind_the_verdict(void **state)
{
    static const audit_lookup env_refused[] = {
        {"alice@example.com", AUDIT_ROLE_FROM, "example.com", "file", "local",
         AUDIT_ANSWER_VERIFIED, AUDIT_CACHE_HIT, 1},
        {"bounce@unverified.example", AUDIT_ROLE_ENVELOPE, NULL, "file", "local",
         AUDIT_ANSWER_NOT_VERIFIED, AUDIT_CACHE_MISS, 0},
    };
    static const audit_lookup sender_temp[] = {
        {"alice@example.com", AUDIT_ROLE_FROM, "example.com", "file", "local",
         AUDIT_ANSWER_VERIFIED, AUDIT_CACHE_HIT, 1},
        {"helper@slow.example", AUDIT_ROLE_SENDER, NULL, "ses", "ses-us", AUDIT_ANSWER_TEMPFAIL,
         AUDIT_CACHE_MISS, -1},
        {"bounce@example.com", AUDIT_ROLE_ENVELOPE, "example.com", "file", "local",
         AUDIT_ANSWER_VERIFIED, AUDIT_CACHE_HIT, 1},
    };
    static const struct {
        const audit_lookup *l;
        size_t n;
        const char *want;
    } cases[] = {
        {env_refused, 2, " identity=bounce@unverified.example:not_verified "},
        {sender_temp, 3, " identity=helper@slow.example:tempfail "},
        {sender_temp, 1, " identity=alice@example.com:verified "},
    };
    char buf[1024];

    (void)state;
    for (size_t i = 0; i < SM_ARRAY_LEN(cases); i++) {
        audit_msg m = ta_msg_refused();
        m.from = "alice@example.com";
        m.lookups = cases[i].l;
        m.n_lookups = cases[i].n;
        audit_summary_line(&m, buf, sizeof(buf));
        if (strstr(buf, cases[i].want) == NULL)
            fail_msg("case %zu: want \"%s\" in: %s", i, cases[i].want, buf);
    }
}

static void
test_summary_line_sanitises_and_never_overflows(void **state)
{
    audit_msg m = ta_msg_refused();
    char buf[1024], small[40];

    (void)state;
    m.queue_id = "Q1";
    m.env_from = "";
    m.reply_text = "bad \"quote\"\r\nInjected: x";
    audit_summary_line(&m, buf, sizeof(buf));
    assert_non_null(strstr(buf, " env_from=<> "));
    assert_null(strchr(buf, '\n'));
    assert_non_null(strstr(buf, "reply=\"550 5.7.1 bad 'quote'\\x0d\\x0aInjected: x\""));
    memset(small, 'X', sizeof(small));
    audit_summary_line(&m, small, sizeof(small));
    assert_int_equal(strlen(small), sizeof(small) - 1);
}

/* parse - the "audit" group of a config text */
static int
parse(const char *text, audit_conf **c, char *err, size_t errlen)
{
    config_t cfg;
    int rc;

    config_init(&cfg);
    if (config_read_string(&cfg, text) != CONFIG_TRUE)
        fail_msg("bad test config: %s", config_error_text(&cfg));
    rc = audit_conf_parse(config_lookup(&cfg, "audit"), c, err, errlen);
    config_destroy(&cfg);
    return rc;
}

static void
test_conf_refuses_bad_settings_with_line(void **state)
{
    static const struct {
        const char *setting, *want;
    } cases[] = {
        {"fsync = \"sometimes\";", ":2: 'audit.fsync' = \"sometimes\" is not one of"},
        {"file_mode = \"0666\";", ":2: 'audit.file_mode' = \"0666\" lets everyone write"},
        {"file_mode = \"rw-r\";", ":2: 'audit.file_mode' = \"rw-r\" is not an octal mode"},
        {"recipient_key_file = \"\";", "needs 'audit.recipient_key_file'"},
        {"colour = 1;", ":2: unknown setting 'audit.colour'"},
        {"fsync_interval_ms = 0;", ":2: 'audit.fsync_interval_ms' = 0 is out of range"},
        {"enabled = \"yes\";", ":2: 'audit.enabled' must be true or false"},
        {"on_error = \"ignore\";", "is not one of: tempfail, continue"},
        {"file = \"\";", "'audit.file' must name a file"},
    };
    (void)state;
    for (size_t i = 0; i < SM_ARRAY_LEN(cases); i++) {
        char *text = xasprintf("audit = {\n  %s\n};\n", cases[i].setting);
        char err[512] = "";
        audit_conf *c = (audit_conf *)&err; /* must be reset to NULL */

        assert_int_equal(parse(text, &c, err, sizeof(err)), -1);
        assert_null(c);
        if (strstr(err, cases[i].want) == NULL)
            fail_msg("case %zu: expected \"%s\" in \"%s\"", i, cases[i].want, err);
        free(text);
    }
}

static void
test_conf_defaults_and_dump(void **state)
{
    audit_conf *c = NULL;
    char *out = NULL;
    size_t outlen = 0;
    FILE *fp = open_memstream(&out, &outlen);

    (void)state;
    assert_int_equal(parse("other = 1;\n", &c, NULL, 0), 0);
    assert_true(c->enabled);
    assert_int_equal(c->recipients, AUDIT_RCPT_HASHED);
    assert_int_equal(c->on_error, AUDIT_ON_ERROR_TEMPFAIL);
    assert_int_equal(c->fsync, AUDIT_FSYNC_INTERVAL);
    assert_int_equal(c->mode, 0640);
    audit_conf_dump(fp, c);
    fclose(fp);
    assert_non_null(strstr(out, "audit.file = \"/var/log/ses-milter/audit.jsonl\";\n"));
    assert_non_null(strstr(out, "audit.recipients = \"hashed\";\n"));
    assert_non_null(strstr(out, "audit.on_error = \"tempfail\";\n"));
    assert_non_null(strstr(out, "audit.file_mode = \"0640\";\n"));
    free(out);
    c = audit_conf_free(c);
    assert_int_equal(parse("audit = { recipients = \"omit\"; recipient_key_file = \"\"; fsync = "
                           "\"always\"; on_error = \"continue\"; file_mode = \"0600\"; };",
                           &c, NULL, 0),
                     0);
    assert_int_equal(c->recipients, AUDIT_RCPT_OMIT);
    assert_int_equal(c->on_error, AUDIT_ON_ERROR_CONTINUE);
    assert_int_equal(c->mode, 0600);
    assert_null(audit_conf_free(c));
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_record_every_field_typed_for_each_kind_of_message),
        cmocka_unit_test(test_record_accepted_carries_the_facts_given),
        cmocka_unit_test(test_record_aborted_leaves_unknowns_null),
        cmocka_unit_test(test_schema_check_refuses_broken_records),
        cmocka_unit_test(test_lookup_cache_origin_written_by_name),
        cmocka_unit_test(test_schema_version_decides_the_key_set),
        cmocka_unit_test(test_record_marks_system_mail_and_why),
        cmocka_unit_test(test_recipients_hashed_same_address_same_hash_under_one_key),
        cmocka_unit_test(test_recipients_omitted_keeps_the_count),
        cmocka_unit_test(test_record_with_invalid_utf8_and_controls_is_still_one_json_line),
        cmocka_unit_test(test_record_time_is_iso8601_utc_with_ms),
        cmocka_unit_test(test_summary_line_has_the_fixed_layout),
        cmocka_unit_test(test_record_and_line_carry_provider_verdicts),
        cmocka_unit_test(test_summary_line_names_the_identity_behind_the_verdict),
        cmocka_unit_test(test_summary_line_sanitises_and_never_overflows),
        cmocka_unit_test(test_conf_refuses_bad_settings_with_line),
        cmocka_unit_test(test_conf_defaults_and_dump),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
