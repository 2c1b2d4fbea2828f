/*
 * test_ses_parts.c - the SES plugin's pure parts, built from their sources
 *
 * Table-driven checks of what the host test reaches only indirectly: AWS
 * error decoding (x-amzn-ErrorType cut at ':' and after '#', body
 * code/Code/__type, message/Message), the redaction of credentials from
 * logged text, URL authority parsing, the container
 * credential URL rules, credential answers (JSON and STS XML, malformed
 * ones refused), ISO 8601 expirations, shared-file profiles and the rate
 * limiter's burst, spacing and give-up-at-deadline behaviour.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "credsrc.h"
#include "http.h"
#include "redact.h"
#include "sesutil.h"
#include "throttle.h"

static void
test_http_aws_error_from_header_then_body(void **state)
{
    static const struct {
        const char *header, *body, *code, *message;
    } t[] = {
        {"NotFoundException:http://internal.amazon.com/coral/com.amazonaws.sesv2/", "",
         "NotFoundException", NULL},
        {"aws.protocols#TooManyRequestsException", "{\"message\":\"slow down\"}",
         "TooManyRequestsException", "slow down"},
        {NULL, "{\"__type\":\"com.amazon.coral.service#AccessDeniedException\",\"Message\":\"no\"}",
         "AccessDeniedException", "no"},
        {NULL, "{\"code\":\"BadRequestException\"}", "BadRequestException", NULL},
        {NULL, "{\"Code\":\"RequestExpired\",\"message\":\"old\"}", "RequestExpired", "old"},
        {NULL, "<html>gateway</html>", NULL, NULL},
        {NULL, "{\"code\": 42, \"message\": null}", NULL, NULL},
        {"", "[1,2]", NULL, NULL},
        {"#", NULL, NULL, NULL},
    };
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
        http_response r;
        memset(&r, 0, sizeof(r));
        http_parse_aws_error(t[i].header, t[i].body, &r);
        if (t[i].code == NULL)
            assert_null(r.error_code);
        else
            assert_string_equal(r.error_code, t[i].code);
        if (t[i].message == NULL)
            assert_null(r.error_message);
        else
            assert_string_equal(r.error_message, t[i].message);
        http_response_clear(&r);
    }
}

/* what redact_text() keeps and what it replaces, one case per kind of secret */
static void
test_redact_credentials_out_of_logged_text(void **state)
{
    static const struct {
        const char *in, *want;
    } t[] = {
        /* canonical request lines as SignatureDoesNotMatch echoes them */
        {"x-amz-security-token:IQoJb3JpZ2luX2VjE/+ab=\nhost;x-amz-date",
         "x-amz-security-token:[redacted]\nhost;x-amz-date"},
        {"X-Amz-Security-Token: FwoGZXIvYXdzE+/= next", "X-Amz-Security-Token: [redacted] next"},
        /* the signed-header list names the header but carries no value */
        {"host;x-amz-date;x-amz-security-token\n", "host;x-amz-date;x-amz-security-token\n"},
        /* Authorization: key id beyond 4 characters, signature */
        {"Credential=AKIAIOSFODNN7EXAMPLE/20261203/us-east-1/ses/aws4_request, "
         "SignedHeaders=host;x-amz-date, "
         "Signature=fe5f80f77d5fa3beca038a248ff027d0445342fe2855ddc9",
         "Credential=AKIA[redacted]/20261203/us-east-1/ses/aws4_request, "
         "SignedHeaders=host;x-amz-date, Signature=[redacted]"},
        /* presigned query parameters */
        {"?X-Amz-Credential=ASIAXYZ%2F2026&X-Amz-Security-Token=abc%2Bdef&X-Amz-Signature=00ff",
         "?X-Amz-Credential=ASIA[redacted]&X-Amz-Security-Token=[redacted]&X-Amz-Signature=["
         "redacted]"},
        /* string to sign: the 64-hex hash of the canonical request */
        {"AWS4-HMAC-SHA256\n20261203T093102Z\n20261203/us-east-1/ses/aws4_request\n"
         "f6dc6574ee6e36fcac9f9a58f8e80248c0b812b64c13dea59a86f688d0d1e2f3",
         "AWS4-HMAC-SHA256\n20261203T093102Z\n20261203/us-east-1/ses/aws4_request\n[redacted]"},
        /* bare access key ids */
        {"key ASIAQWERTYUIOPASDFGH used", "key ASIA[redacted] used"},
        {"AKIA1234 is short", "AKIA1234 is short"},
        /* credential answers: JSON, STS XML, shared files */
        {"{\"AccessKeyId\": \"AKIDSECRETKEYID\", \"SecretAccessKey\": \"wJalr/K7+MDENG\", "
         "\"Token\": \"tok/en+=\"}",
         "{\"AccessKeyId\": \"AKID[redacted]\", \"SecretAccessKey\": \"[redacted]\", "
         "\"Token\": \"[redacted]\"}"},
        {"<SessionToken>FQoDYXdz/+=</SessionToken><Expiration>2026</Expiration>",
         "<SessionToken>[redacted]</SessionToken><Expiration>2026</Expiration>"},
        {"aws_secret_access_key = abc/def\naws_session_token=xyz",
         "aws_secret_access_key = [redacted]\naws_session_token=[redacted]"},
        /* plain sentences stay as they are */
        {"The security token included in the request is invalid.",
         "The security token included in the request is invalid."},
        {"SignatureDoesNotMatch: The request signature we calculated does not match",
         "SignatureDoesNotMatch: The request signature we calculated does not match"},
        {"", ""},
    };

    (void)state;
    for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
        char *got = redact_text(t[i].in);
        print_message("%s\n", got);
        assert_string_equal(got, t[i].want);
        free(got);
    }
    {
        char *got = redact_text(NULL);
        assert_string_equal(got, "");
        free(got);
    }
}

/* a decoded AWS error message is already redacted */
static void
test_http_aws_error_message_is_redacted(void **state)
{
    http_response r;

    (void)state;
    memset(&r, 0, sizeof(r));
    http_parse_aws_error("SignatureDoesNotMatch:http://internal.amazon.com/coral/",
                         "{\"message\":\"The Canonical String for this request should have been\\n"
                         "'GET\\n/\\n\\nx-amz-security-token:SECRETTOKEN/+=\\n'\"}",
                         &r);
    assert_string_equal(r.error_code, "SignatureDoesNotMatch");
    assert_null(strstr(r.error_message, "SECRETTOKEN"));
    assert_non_null(strstr(r.error_message, "x-amz-security-token:[redacted]"));
    http_response_clear(&r);
}

static void
test_http_url_host_and_container_url_rules(void **state)
{
    static const struct {
        const char *url, *host;
        int container_ok;
    } t[] = {
        {"https://email.us-east-1.amazonaws.com", "email.us-east-1.amazonaws.com", 1},
        {"http://127.0.0.1:8080/creds", "127.0.0.1:8080", 1},
        {"http://127.1.2.3/creds", "127.1.2.3", 1},
        {"http://169.254.170.2/v2/credentials/x", "169.254.170.2", 1},
        {"http://169.254.170.23/v1/credentials", "169.254.170.23", 1},
        {"http://[::1]:80/x", "[::1]:80", 1},
        {"http://localhost/x", "localhost", 1},
        {"http://192.0.2.1/creds", "192.0.2.1", 0},
        {"http://127.0.0.1.evil.example/creds", "127.0.0.1.evil.example", 0},
        {"http://user@127.0.0.1/creds", NULL, 0},
        {"ftp://127.0.0.1/creds", "127.0.0.1", 0},
        {"https://x.example/\r\nHost: y", "x.example", 0},
        {"no-scheme", NULL, 0},
        {"https://", NULL, 0},
    };
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
        char *h = http_url_host(t[i].url);
        if (t[i].host == NULL)
            assert_null(h);
        else
            assert_string_equal(h, t[i].host);
        free(h);
        assert_int_equal(credsrc_container_url_ok(t[i].url), t[i].container_ok);
    }
    assert_null(http_url_host(NULL));
    assert_int_equal(credsrc_container_url_ok(NULL), 0);
}

static void
test_credsrc_answers_parsed_and_malformed_refused(void **state)
{
    static const struct {
        int xml;
        const char *body;
        int rc;
        int64_t exp;
    } t[] = {
        {0,
         "{\"AccessKeyId\":\"AK\",\"SecretAccessKey\":\"SK\",\"Token\":\"T\","
         "\"Expiration\":\"2015-08-30T12:36:00Z\"}",
         0, 1440938160},
        {0, "{\"AccessKeyId\":\"AK\",\"SecretAccessKey\":\"SK\"}", 0, 0},
        {0, "{\"AccessKeyId\":\"AK\",\"SecretAccessKey\":\"SK\",\"Expiration\":\"soon\"}", -1, 0},
        {0, "{\"AccessKeyId\":\"AK\"}", -1, 0},
        {0, "{\"AccessKeyId\":\"\",\"SecretAccessKey\":\"SK\"}", -1, 0},
        {0, "not json", -1, 0},
        {0, "", -1, 0},
        {1,
         "<R><Credentials><AccessKeyId>AK</AccessKeyId><SecretAccessKey>SK</SecretAccessKey>"
         "<SessionToken>T</SessionToken><Expiration>2015-08-30T12:36:00.000Z</Expiration>"
         "</Credentials></R>",
         0, 1440938160},
        {1, "<R><AccessKeyId>AK</AccessKeyId></R>", -1, 0},
        {1, "<R><AccessKeyId>AK</AccessKeyId><SecretAccessKey>SK", -1, 0},
        {1, "", -1, 0},
    };
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
        creds_value v;
        char err[256];
        int rc = t[i].xml ? credsrc_parse_sts_xml(t[i].body, &v, err, sizeof(err))
                          : credsrc_parse_json(t[i].body, &v, err, sizeof(err));
        assert_int_equal(rc, t[i].rc);
        if (rc == 0) {
            assert_string_equal(v.access_key_id, "AK");
            assert_string_equal(v.secret_access_key, "SK");
            assert_int_equal(v.expiration, t[i].exp);
            assert_null(strstr(err, "SK"));
        } else {
            assert_null(v.access_key_id);
        }
        creds_value_clear(&v);
    }
}

static void
test_sesutil_iso8601_table(void **state)
{
    static const struct {
        const char *in;
        int64_t want;
    } t[] = {
        {"2015-08-30T12:36:00Z", 1440938160},
        {"2015-08-30T12:36:00.123Z", 1440938160},
        {"2015-08-30T14:36:00+02:00", 1440938160},
        {"2015-08-30T12:36:00", 1440938160},
        {"2015-13-30T12:36:00Z", -1},
        {"2015-08-30T12:36Z", -1},
        {"2015-08-30T12:36:00Zjunk", -1},
        {"2015-08-30T12:36:00+0200", -1},
        {"", -1},
        {NULL, -1},
    };
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(t) / sizeof(t[0]); i++)
        assert_int_equal(sesutil_parse_iso8601(t[i].in), t[i].want);
}

static void
test_credsrc_file_profiles(void **state)
{
    static const struct {
        const char *profile, *ak;
        int rc;
    } t[] = {
        {"default", "AKDEF", 0}, {"work", "AKWORK", 0}, {"cfgonly", "AKCFG", 0},
        {"half", NULL, -1},      {"missing", NULL, 1},  {"profile work", NULL, 1},
    };
    char dir[] = "/tmp/ses-parts-XXXXXX", cpath[64], fpath[64], path[256], err[256];
    FILE *fp;
    size_t i;

    (void)state;
    assert_non_null(mkdtemp(dir));
    snprintf(cpath, sizeof(cpath), "%s/credentials", dir);
    snprintf(fpath, sizeof(fpath), "%s/config", dir);
    fp = fopen(cpath, "w");
    assert_non_null(fp);
    fputs("; comment\n[default]\naws_access_key_id=AKDEF\naws_secret_access_key = s\n"
          "  [ work ]  \n  aws_access_key_id = AKWORK  \naws_secret_access_key=s2\n"
          "[half]\naws_access_key_id = AKHALF\n[broken\naws_access_key_id = X\n",
          fp);
    fclose(fp);
    fp = fopen(fpath, "w");
    assert_non_null(fp);
    fputs("[profile cfgonly]\naws_access_key_id=AKCFG\naws_secret_access_key=s3\n"
          "[cfgonly]\naws_access_key_id=WRONG\n",
          fp);
    fclose(fp);
    setenv("AWS_SHARED_CREDENTIALS_FILE", cpath, 1);
    setenv("AWS_CONFIG_FILE", fpath, 1);
    for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
        creds_value v;
        int loose;
        int rc = credsrc_file(t[i].profile, &v, &loose, path, sizeof(path), err, sizeof(err));
        assert_int_equal(rc, t[i].rc);
        if (rc == 0)
            assert_string_equal(v.access_key_id, t[i].ak);
        creds_value_clear(&v);
    }
    unlink(cpath);
    unlink(fpath);
    rmdir(dir);
    unsetenv("AWS_SHARED_CREDENTIALS_FILE");
    unsetenv("AWS_CONFIG_FILE");
}

static uint64_t
now_ms(void)
{
    return sesutil_now_ms();
}

static void
test_throttle_burst_spacing_and_deadline(void **state)
{
    throttle *t = throttle_new(20.0, 3, 100, 1000); /* 50 ms apart, 3 at once */
    uint64_t start = now_ms(), took;
    int i;

    (void)state;
    for (i = 0; i < 3; i++)
        assert_int_equal(throttle_acquire(t, start + 1000, 0), 0);
    assert_true(now_ms() - start < 30);
    /* the fourth waits for its slot, about one interval */
    assert_int_equal(throttle_acquire(t, now_ms() + 1000, 0), 0);
    took = now_ms() - start;
    assert_true(took >= 40 && took < 200);
    /* a caller whose slot comes after its deadline gives up at once */
    start = now_ms();
    assert_int_equal(throttle_acquire(t, now_ms() + 10, 0), -1);
    assert_true(now_ms() - start < 10);
    /* backoff: everyone waits, a success resets the level */
    assert_true(throttle_backoff(t) >= 50);
    assert_true(throttle_backoff_until(t) > now_ms());
    assert_int_equal(throttle_acquire(t, now_ms() + 20, 0), -1);
    throttle_success(t);
    t = throttle_free(t);
    assert_null(t);
}

/* a scripted fleet budget: answers[i] for the i-th call, then the last one */
typedef struct fleet_budget {
    int answers[4];
    int n, calls;
    unsigned per_second;
    char bucket[32];
} fleet_budget;

static int
fleet_budget_take(void *arg, const char *bucket, unsigned per_second, uint64_t deadline_ms,
                  unsigned *wait_ms_r)
{
    fleet_budget *f = arg;
    int i = f->calls < f->n ? f->calls : f->n - 1;

    (void)deadline_ms;
    f->calls++;
    f->per_second = per_second;
    snprintf(f->bucket, sizeof(f->bucket), "%s", bucket);
    *wait_ms_r = 20;
    return f->answers[i];
}

/* the fleet's budget: granted goes, spent waits for the next second, none is the local limit */
static void
test_throttle_fleet_budget_table(void **state)
{
    static const struct {
        const char *name;
        int answers[4], n;
        unsigned deadline_ms;
        int want, want_calls;
    } rows[] = {
        {"granted at once", {1}, 1, 1000, 0, 1},
        {"spent, granted the next second", {0, 0, 1}, 3, 1000, 0, 3},
        {"spent until after the deadline: give up", {0}, 1, 30, -1, 2},
        {"no shared budget (backend down): the local limit decides", {-1}, 1, 1000, 0, 1},
    };

    (void)state;
    for (size_t r = 0; r < sizeof(rows) / sizeof(rows[0]); r++) {
        throttle *t = throttle_new(100.0, 10, 100, 1000);
        fleet_budget f = {.n = rows[r].n};

        memcpy(f.answers, rows[r].answers, sizeof(f.answers));
        throttle_fleet fl = {fleet_budget_take, &f, "ses-us", 7};

        print_message("# %s\n", rows[r].name);
        assert_int_equal(throttle_acquire_fleet(t, now_ms() + rows[r].deadline_ms, 0, &fl),
                         rows[r].want);
        assert_int_equal(f.calls, rows[r].want_calls);
        assert_int_equal(f.per_second, 7);
        assert_string_equal(f.bucket, "ses-us");
        t = throttle_free(t);
    }
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_http_aws_error_from_header_then_body),
        cmocka_unit_test(test_redact_credentials_out_of_logged_text),
        cmocka_unit_test(test_http_aws_error_message_is_redacted),
        cmocka_unit_test(test_http_url_host_and_container_url_rules),
        cmocka_unit_test(test_credsrc_answers_parsed_and_malformed_refused),
        cmocka_unit_test(test_sesutil_iso8601_table),
        cmocka_unit_test(test_credsrc_file_profiles),
        cmocka_unit_test(test_throttle_burst_spacing_and_deadline),
        cmocka_unit_test(test_throttle_fleet_budget_table),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
