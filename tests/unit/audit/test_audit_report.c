/*
 * test_audit_report.c - ses-milter-audit report over the fixture log, against golden files
 *
 * tests/audit/fixture.jsonl holds 24 records written by the real writer
 * (one every hour from 2026-11-24T10:00Z, six kinds of message in turn);
 * tests/audit/report.{txt,csv,json} and report-window.txt are the expected
 * outputs.  Run with SM_AUDIT_REGEN=1 to rewrite the fixture and goldens
 * after a deliberate change (then review the diff: the totals asserted
 * below by hand must still hold).
 */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "test_audit_util.h"

#define FIXTURE SRCDIR "/tests/audit/fixture.jsonl"
#define HOUR 3600000ULL

static const audit_lookup fx_lookup_news[] = {
    {"news@news.example.net", AUDIT_ROLE_FROM, "news.example.net", "file", "file-local",
     AUDIT_ANSWER_VERIFIED, AUDIT_CACHE_HIT, 5},
};
static const audit_lookup fx_lookup_shop[] = {
    {"orders@shop.example.org", AUDIT_ROLE_FROM, "orders@shop.example.org", "ses", "ses-eu-west-1",
     AUDIT_ANSWER_VERIFIED, AUDIT_CACHE_MISS, 0},
};
static const audit_dkim fx_dkim_fail[] = {{"shop.example.org", "s1", "rsa-sha256", "fail"}};
static const audit_spf fx_spf_soft = {"shop.example.org", ta_ips, 1, "softfail"};
static const audit_dmarc fx_dmarc_news = {"example.net", "quarantine", "fail", 0, 0, NULL, 0, NULL};
static const audit_dmarc fx_dmarc_shop = {"example.org", "none", "fail", 0, 0, NULL, 0, NULL};

/* fx_msg - the i-th fixture message: six kinds in turn, one hour apart */
static audit_msg
fx_msg(unsigned i)
{
    audit_msg m;

    switch (i % 6) {
    case 0:
        m = ta_msg_accepted();
        break;
    case 1:
        m = ta_msg_refused();
        break;
    case 2:
        m = ta_msg_tempfailed();
        break;
    case 3:
        m = ta_msg_accepted();
        m.from = "news@news.example.net";
        m.env_from = "bounce@news.example.net";
        m.lookups = fx_lookup_news;
        m.n_lookups = 1;
        m.n_dkim = 0;
        m.dmarc = &fx_dmarc_news;
        m.n_unsub = 1;
        m.action = AUDIT_ACTION_QUARANTINE;
        break;
    case 4:
        m = ta_msg_accepted();
        m.from = "orders@shop.example.org";
        m.env_from = "orders@shop.example.org";
        m.lookups = fx_lookup_shop;
        m.n_lookups = 1;
        m.dkim = fx_dkim_fail;
        m.n_dkim = 1;
        m.spf = &fx_spf_soft;
        m.dmarc = &fx_dmarc_shop;
        m.n_unsub = 0;
        m.action = AUDIT_ACTION_TAG;
        break;
    default:
        m = ta_msg_aborted();
        break;
    }
    m.time_ms = TA_T0 + i * HOUR + i;
    m.program_version = "0.1.0-fixture";
    return m;
}

/* regen - rewrite the fixture and the golden files (SM_AUDIT_REGEN=1) */
static void
regen(void)
{
    static const struct {
        const char *name, *from, *to;
        audit_report_format fmt;
    } outs[] = {
        {"report.txt", NULL, NULL, AUDIT_REPORT_TEXT},
        {"report.csv", NULL, NULL, AUDIT_REPORT_CSV},
        {"report.json", NULL, NULL, AUDIT_REPORT_JSON},
        {"report-window.txt", "2026-11-24T12:00:00.000Z", "2026-11-24T18:00:00.000Z",
         AUDIT_REPORT_TEXT},
    };
    audit_conf *c = ta_conf(FIXTURE);
    audit_log *log = NULL;
    char err[512];

    unlink(FIXTURE);
    assert_int_equal(audit_log_open(c, &log, err, sizeof(err)), 0);
    for (unsigned i = 0; i < 24; i++) {
        audit_msg m = fx_msg(i);
        assert_int_equal(audit_write_msg(log, &m, err, sizeof(err)), AUDIT_OK);
    }
    audit_log_close(log);
    audit_conf_free(c);
    for (size_t i = 0; i < SM_ARRAY_LEN(outs); i++) {
        char *path = xasprintf("%s/tests/audit/%s", SRCDIR, outs[i].name), *text;
        audit_report *r = audit_report_new(outs[i].from, outs[i].to);
        FILE *fp = fopen(path, "w");
        text = ta_read_file(FIXTURE, NULL);
        for (char *line = text, *nl; (nl = strchr(line, '\n')) != NULL; line = nl + 1)
            audit_report_line(r, line, (size_t)(nl - line));
        audit_report_print(fp, r, outs[i].fmt);
        fclose(fp);
        audit_report_free(r);
        free(text);
        free(path);
    }
}

/* report_of - the report over the fixture, read through the tool's reader */
static char *
report_of(const char *file, const char *from, const char *to, audit_report_format fmt)
{
    audit_report *r = audit_report_new(from, to);
    audit_reader *rd = NULL;
    const char *line;
    size_t len, outlen = 0;
    int term;
    char *out = NULL, err[256];
    FILE *fp;

    assert_int_equal(audit_report_open(file, &rd, err, sizeof(err)), 0);
    while (audit_report_next(rd, &line, &len, &term, err, sizeof(err)) > 0)
        audit_report_line(r, line, len);
    audit_report_close(rd);
    fp = open_memstream(&out, &outlen);
    audit_report_print(fp, r, fmt);
    fclose(fp);
    audit_report_free(r);
    return out;
}

static void
test_report_matches_golden_files(void **state)
{
    static const struct {
        const char *golden, *from, *to;
        audit_report_format fmt;
    } cases[] = {
        {"report.txt", NULL, NULL, AUDIT_REPORT_TEXT},
        {"report.csv", NULL, NULL, AUDIT_REPORT_CSV},
        {"report.json", NULL, NULL, AUDIT_REPORT_JSON},
        {"report-window.txt", "2026-11-24T12:00:00.000Z", "2026-11-24T18:00:00.000Z",
         AUDIT_REPORT_TEXT},
    };
    (void)state;
    for (size_t i = 0; i < SM_ARRAY_LEN(cases); i++) {
        char *path = xasprintf("%s/tests/audit/%s", SRCDIR, cases[i].golden);
        char *want = ta_read_file(path, NULL);
        char *got = report_of(FIXTURE, cases[i].from, cases[i].to, cases[i].fmt);

        assert_non_null(want);
        if (strcmp(want, got) != 0)
            fail_msg("%s differs; got:\n%s", cases[i].golden, got);
        free(want);
        free(got);
        free(path);
    }
}

/* the totals, asserted by hand so that a wrong golden file cannot hide a bug */
static void
test_report_totals_over_fixture(void **state)
{
    static const char *const want[] = {
        "\"records\": 24",
        "\"messages\": 24",
        "\"accepted\": 4",
        "\"refused\": 4",
        "\"quarantined\": 4",
        "\"tempfailed\": 4",
        "\"tagged\": 4",
        "\"aborted\": 4",
        "\"dmarc_fail\": 12",
        "\"unsub\": 8",
        "\"invalid_lines\": 0",
        "\"List-Unsubscribe\": 8",
        "\"List-Unsubscribe-Post\": 4",
        "\"dkim:none,spf:fail\": 4",
        "\"dkim:none,spf:unaligned\": 4",
        "\"dkim:fail,spf:softfail\": 4",
    };
    char *got = report_of(FIXTURE, NULL, NULL, AUDIT_REPORT_JSON);
    json_t *j = json_loads(got, 0, NULL), *d0;

    (void)state;
    for (size_t i = 0; i < SM_ARRAY_LEN(want); i++)
        if (strstr(got, want[i]) == NULL)
            fail_msg("missing %s in\n%s", want[i], got);
    /* example.com: accepted + tempfailed kinds = 8 messages, the largest domain first */
    d0 = json_array_get(json_object_get(j, "domains"), 0);
    assert_string_equal(json_string_value(json_object_get(d0, "domain")), "example.com");
    assert_int_equal(json_integer_value(json_object_get(d0, "messages")), 8);
    assert_int_equal(json_integer_value(json_object_get(d0, "tempfailed")), 4);
    json_decref(j);
    free(got);
}

static void
test_report_window_is_half_open(void **state)
{
    static const struct {
        const char *from, *to;
        const char *records;
    } cases[] = {
        {"2026-11-24T12:00:00.000Z", "2026-11-24T18:00:00.000Z", "\"records\": 6"},
        {"2026-11-25T00:00:00.000Z", NULL, "\"records\": 10"},
        {NULL, "2026-11-24T10:00:00.000Z", "\"records\": 0"},
        {"2026-11-24T10:00:00.000Z", "2026-11-24T10:00:00.001Z", "\"records\": 1"},
    };
    (void)state;
    for (size_t i = 0; i < SM_ARRAY_LEN(cases); i++) {
        char *got = report_of(FIXTURE, cases[i].from, cases[i].to, AUDIT_REPORT_JSON);
        if (strstr(got, cases[i].records) == NULL)
            fail_msg("case %zu: want %s in\n%s", i, cases[i].records, got);
        free(got);
    }
}

static void
test_report_time_argument_forms(void **state)
{
    static const struct {
        const char *in, *out; /* out NULL: refused */
    } cases[] = {
        {"2026-11-24", "2026-11-24T00:00:00.000Z"},
        {"2026-11-24T12:30", "2026-11-24T12:30:00.000Z"},
        {"2026-11-24 12:30:15", "2026-11-24T12:30:15.000Z"},
        {"2026-11-24T12:30:15Z", "2026-11-24T12:30:15.000Z"},
        {"2026-11-24T12:30:15.250Z", "2026-11-24T12:30:15.250Z"},
        {"2026-11", NULL},
        {"yesterday", NULL},
        {"2026-11-24T12", NULL},
        {"2026/11/24", NULL},
        {"", NULL},
    };
    char out[32];

    (void)state;
    for (size_t i = 0; i < SM_ARRAY_LEN(cases); i++) {
        int rc = audit_report_time_arg(cases[i].in, out, sizeof(out));
        if (cases[i].out == NULL) {
            assert_int_equal(rc, -1);
        } else {
            assert_int_equal(rc, 0);
            assert_string_equal(out, cases[i].out);
        }
    }
}

static void
test_report_counts_garbage_lines_as_invalid(void **state)
{
    static const char text[] = "not json\n{\"v\":3}\n[1,2]\n\n";
    char *dir = ta_tmpdir(), *path = ta_write_file(dir, "bad.jsonl", text, sizeof(text) - 1, 0600);
    char *got = report_of(path, NULL, NULL, AUDIT_REPORT_JSON);

    (void)state;
    assert_non_null(strstr(got, "\"invalid_lines\": 4"));
    assert_non_null(strstr(got, "\"records\": 0"));
    free(got);
    free(path);
    ta_rmdir(dir);
}

/* a message refused for its envelope sender counts under that identity and its domain */
static void
test_report_counts_a_refusal_under_the_refused_identity(void **state)
{
    static const audit_lookup lk[] = {
        {"alice@example.com", AUDIT_ROLE_FROM, "example.com", "file", "local",
         AUDIT_ANSWER_VERIFIED, AUDIT_CACHE_HIT, 1},
        {"bounce@unverified.example", AUDIT_ROLE_ENVELOPE, NULL, "file", "local",
         AUDIT_ANSWER_NOT_VERIFIED, AUDIT_CACHE_MISS, 0},
    };
    char *dir = ta_tmpdir(), *file = xasprintf("%s/audit.jsonl", dir), *got, err[512];
    audit_conf *c = ta_conf(file);
    audit_log *log = NULL;
    audit_msg m = ta_msg_refused();

    (void)state;
    m.from = "alice@example.com";
    m.env_from = "bounce@unverified.example";
    m.lookups = lk;
    m.n_lookups = 2;
    m.time_ms = TA_T0;
    assert_int_equal(audit_log_open(c, &log, err, sizeof(err)), 0);
    assert_int_equal(audit_write_msg(log, &m, err, sizeof(err)), AUDIT_OK);
    audit_log_close(log);
    got = report_of(file, NULL, NULL, AUDIT_REPORT_CSV);
    if (strstr(got, "\nidentity,bounce@unverified.example,refused,1\n") == NULL ||
        strstr(got, "\ndomain,unverified.example,refused,1\n") == NULL ||
        strstr(got, "\ndomain,example.com,") != NULL ||
        strstr(got, "\nidentity,example.com,") != NULL)
        fail_msg("report:\n%s", got);
    free(got);
    audit_conf_free(c);
    free(file);
    ta_rmdir(dir);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_report_matches_golden_files),
        cmocka_unit_test(test_report_totals_over_fixture),
        cmocka_unit_test(test_report_window_is_half_open),
        cmocka_unit_test(test_report_time_argument_forms),
        cmocka_unit_test(test_report_counts_garbage_lines_as_invalid),
        cmocka_unit_test(test_report_counts_a_refusal_under_the_refused_identity),
    };
    if (getenv("SM_AUDIT_REGEN") != NULL)
        regen();
    return cmocka_run_group_tests(tests, NULL, NULL);
}
