/*
 * ses_host_test.c - the SES plugin, dlopened, against a botocore-checked endpoint
 *
 * A minimal host (conf_* over a libconfig group built from a string, a log
 * callback that records every line, a cache_put that counts) loads the
 * built plugin (plugins/ses/.libs/ses.so) and talks to tests/ses/
 * ses_endpoint.py on 127.0.0.1, which recomputes each request's SigV4
 * signature with botocore.  Shows: verdicts and attributes, 404 → UNKNOWN,
 * warm-up through cache_put with zero GetEmailIdentity calls, a burst of
 * 1,000 lookups staying within the rate limit and the deadlines, 429 /
 * 5xx / silent endpoint → TEMPFAIL in time, every credential source
 * including refresh of expiring temporary credentials, bad credentials,
 * TLS trust, configuration errors, and that no secret reaches a log line.
 * Helpers (host, instances, endpoint control) live in sestest.c; every
 * server started is stopped by PID.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "sestest.h"

static void
test_ses_verdicts_for_address_domain_subdomain_and_404(void **state)
{
    static const struct {
        const char *id;
        sm_id_answer want;
        sm_id_type type;
        int dkim;
        const char *dkim_status, *mail_from;
    } t[] = {
        {"verified@example.com", SM_ID_VERIFIED, SM_IDTYPE_EMAIL_ADDRESS, SM_TRI_UNKNOWN, "", ""},
        {"a+b@example.com", SM_ID_VERIFIED, SM_IDTYPE_EMAIL_ADDRESS, SM_TRI_UNKNOWN, "", ""},
        {"example.com", SM_ID_VERIFIED, SM_IDTYPE_DOMAIN, 1, "SUCCESS", "bounce.example.com"},
        {"sub.example.org", SM_ID_VERIFIED, SM_IDTYPE_DOMAIN, SM_TRI_UNKNOWN, "", ""},
        {"pending.example.net", SM_ID_NOT_VERIFIED, SM_IDTYPE_DOMAIN, SM_TRI_UNKNOWN, "", ""},
        {"nulls.example", SM_ID_VERIFIED, SM_IDTYPE_NONE, SM_TRI_UNKNOWN, "", ""},
        {"nobody@example.com", SM_ID_UNKNOWN, SM_IDTYPE_NONE, SM_TRI_UNKNOWN, "", ""},
        {"a.sub.example.org", SM_ID_UNKNOWN, SM_IDTYPE_NONE, SM_TRI_UNKNOWN, "", ""},
        {"odd/slash@example.com", SM_ID_UNKNOWN, SM_IDTYPE_NONE, SM_TRI_UNKNOWN, "", ""},
        {"bad id with spaces", SM_ID_UNKNOWN, SM_IDTYPE_NONE, SM_TRI_UNKNOWN, "", ""},
    };
    sm_id_attrs at;
    size_t i;
    inst in;

    (void)state;
    sestest_env_static();
    assert_int_equal(sestest_inst_open(&in, 0,
                                       BASE_CONF "warmup_interval = 0; rate = 100; burst = 20;",
                                       sestest_port),
                     0);
    for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
        sm_id_answer a = sestest_lookup(&in, t[i].id, 3000, &at);
        print_message("%-24s -> %d (%s)\n", t[i].id, a, at.detail);
        assert_int_equal(a, t[i].want);
        assert_int_equal(at.identity_type, t[i].type);
        assert_int_equal(at.dkim_signing_enabled, t[i].dkim);
        assert_string_equal(at.dkim_status, t[i].dkim_status);
        assert_string_equal(at.mail_from_domain, t[i].mail_from);
        if (a != SM_ID_UNKNOWN || strchr(t[i].id, ' ') == NULL)
            assert_string_equal(at.region, "us-east-1");
    }
    sestest_lookup(&in, "example.com", 3000, &at);
    assert_string_equal(at.dkim_origin, "AWS_SES");
    assert_string_equal(at.mail_from_status, "SUCCESS");
    assert_string_equal(at.mail_from_behavior, "USE_DEFAULT_VALUE");
    assert_string_equal(at.identity, "example.com");
    assert_int_equal(sestest_api_count("BadSignature"), 0);
    sestest_inst_close(&in);
}

static void
test_ses_session_token_is_sent_and_signed(void **state)
{
    inst in;

    (void)state;
    sestest_env_clear();
    setenv("AWS_ACCESS_KEY_ID", TOKEN_AK, 1);
    setenv("AWS_SECRET_ACCESS_KEY", TOKEN_SK, 1);
    setenv("AWS_SESSION_TOKEN", TOKEN_TOK, 1);
    assert_int_equal(
        sestest_inst_open(&in, 0, BASE_CONF "warmup_interval = 0; rate = 100;", sestest_port), 0);
    assert_int_equal(sestest_lookup(&in, "verified@example.com", 3000, NULL), SM_ID_VERIFIED);
    sestest_inst_close(&in);
}

static void
test_ses_warmup_fills_cache_without_get_calls(void **state)
{
    uint64_t until;
    inst in;
    int i, found_plus = 0;

    (void)state;
    sestest_env_static();
    json_decref(sestest_control("POST", "/__reset"));
    sestest_log_mark();
    assert_int_equal(sestest_inst_open(&in, 1,
                                       BASE_CONF "warmup_page_size = 2; rate = 50; burst = 5;",
                                       sestest_port),
                     0);
    for (until = sestest_now_ms() + 8000; sestest_now_ms() < until; usleep(50 * 1000)) {
        pthread_mutex_lock(&sestest_put_lock);
        i = in.th.puts;
        pthread_mutex_unlock(&sestest_put_lock);
        if (i >= FIXTURE_IDENTITIES && sestest_logged_since_mark("warm-up:"))
            break;
    }
    pthread_mutex_lock(&sestest_put_lock);
    print_message("warm-up: %d cache_put calls, ListEmailIdentities %ld, GetEmailIdentity %ld\n",
                  in.th.puts, sestest_api_count("ListEmailIdentities"),
                  sestest_api_count("GetEmailIdentity"));
    assert_int_equal(in.th.puts, FIXTURE_IDENTITIES);
    for (i = 0; i < FIXTURE_IDENTITIES; i++) {
        found_plus |= strcmp(in.th.put_ids[i], "a+b@example.com") == 0;
        if (strcmp(in.th.put_ids[i], "pending.example.net") == 0)
            assert_int_equal(in.th.put_answers[i], SM_ID_NOT_VERIFIED);
        if (strcmp(in.th.put_ids[i], "example.com") == 0)
            assert_int_equal(in.th.put_answers[i], SM_ID_VERIFIED);
    }
    pthread_mutex_unlock(&sestest_put_lock);
    assert_true(found_plus);
    assert_int_equal(sestest_api_count("GetEmailIdentity"), 0);
    assert_int_equal(sestest_api_count("ListEmailIdentities"), 3); /* 6 identities, pages of 2 */
    assert_int_equal(sestest_api_count("GetAccount"), 1);
    assert_true(sestest_logged_since_mark("in the SES sandbox"));
    sestest_inst_close(&in);
}

/*
 * Reload: an instance started while one with the same settings runs (the host
 * loads the new configuration before releasing the old) asks neither GetAccount
 * nor ListEmailIdentities at once; it lists warmup_interval after the last list.
 */
#define RELOAD_CONF BASE_CONF "warmup_interval = 3; warmup_page_size = 3; rate = 50; burst = 5;"

static void
test_ses_reload_successor_takes_over_warmup_state(void **state)
{
    uint64_t until, listed;
    inst a, b;

    (void)state;
    sestest_env_static();
    json_decref(sestest_control("POST", "/__reset"));
    sestest_log_mark();
    assert_int_equal(sestest_inst_open(&a, 1, RELOAD_CONF, sestest_port), 0);
    for (until = sestest_now_ms() + 5000; sestest_now_ms() < until; usleep(50 * 1000))
        if (sestest_logged_since_mark("warm-up:"))
            break;
    listed = sestest_now_ms();
    assert_int_equal(sestest_api_count("ListEmailIdentities"), 2); /* 6 identities, pages of 3 */
    assert_int_equal(sestest_api_count("GetAccount"), 1);
    sestest_log_mark();
    assert_int_equal(sestest_inst_open(&b, 1, RELOAD_CONF, sestest_port), 0);
    sestest_inst_close(&a); /* the old configuration is released */
    usleep(1000 * 1000);
    print_message("successor after 1 s: ListEmailIdentities %ld, GetAccount %ld\n",
                  sestest_api_count("ListEmailIdentities"), sestest_api_count("GetAccount"));
    assert_int_equal(sestest_api_count("ListEmailIdentities"), 2);
    assert_int_equal(sestest_api_count("GetAccount"), 1);
    assert_true(sestest_logged_since_mark("took over the state of the running instance"));
    /* the successor lists one interval after its predecessor's list, no GetAccount */
    for (until = listed + 6000; sestest_now_ms() < until; usleep(50 * 1000))
        if (sestest_api_count("ListEmailIdentities") >= 4)
            break;
    assert_int_equal(sestest_api_count("ListEmailIdentities"), 4);
    assert_true(sestest_now_ms() >= listed + 2500);
    assert_int_equal(sestest_api_count("GetAccount"), 1);
    sestest_inst_close(&b);
}

static void
test_ses_warmup_access_denied_names_the_permissions(void **state)
{
    uint64_t until;
    inst in;

    (void)state;
    sestest_env_static();
    sestest_set_mode("ses=denied");
    sestest_log_mark();
    assert_int_equal(sestest_inst_open(&in, 1, BASE_CONF "rate = 50; burst = 5;", sestest_port), 0);
    for (until = sestest_now_ms() + 5000; sestest_now_ms() < until; usleep(50 * 1000))
        if (sestest_logged_since_mark("ses:ListEmailIdentities"))
            break;
    assert_true(sestest_logged_since_mark("lack the IAM permission ses:GetAccount"));
    assert_true(sestest_logged_since_mark("lack the IAM permission ses:ListEmailIdentities"));
    assert_true(sestest_logged_since_mark("warm-up stopped after 0 page(s)"));
    pthread_mutex_lock(&sestest_put_lock);
    assert_int_equal(in.th.puts, 0);
    pthread_mutex_unlock(&sestest_put_lock);
    sestest_inst_close(&in);
}

typedef struct burst_arg {
    inst *in;
    int first;
    int together; /* 1: all arrive at t0, deadline t0 + 2 s; 0: each its own 2 s */
    uint64_t t0;
    int unknown, tempfail, other;
    uint64_t max_over, max_latency;
} burst_arg;

static void *
burst_thread(void *p)
{
    burst_arg *b = p;
    char id[64];
    int i;

    for (i = b->first; i < 1000; i += 8) {
        uint64_t start = b->together ? b->t0 : sestest_now_ms(), done;
        sm_id_query q = {sizeof(q), id, SM_IDKIND_ADDRESS, start + 2000, ""};
        sm_id_attrs at;
        sm_id_answer a;

        snprintf(id, sizeof(id), "nobody%04d-%d@burst.example", i, b->together);
        memset(&at, 0, sizeof(at));
        at.size = sizeof(at);
        a = sestest_plugin->lookup(b->in->pi, &q, &at);
        done = sestest_now_ms();
        if (done > q.deadline_ms && done - q.deadline_ms > b->max_over)
            b->max_over = done - q.deadline_ms;
        if (done - start > b->max_latency)
            b->max_latency = done - start;
        b->unknown += a == SM_ID_UNKNOWN;
        b->tempfail += a == SM_ID_TEMPFAIL;
        b->other += a != SM_ID_UNKNOWN && a != SM_ID_TEMPFAIL;
    }
    return NULL;
}

/* max number of timestamps within any window of 1 s */
static long
max_per_second(json_t *times)
{
    size_t i, j, n = json_array_size(times);
    long best = 0;

    for (i = 0; i < n; i++) {
        double t0 = json_real_value(json_array_get(times, i));
        long c = 0;
        for (j = i; j < n && json_real_value(json_array_get(times, j)) < t0 + 1.0; j++)
            c++;
        if (c > best)
            best = c;
    }
    return best;
}

/* one burst of 1,000 lookups from 8 threads; fills *sum and returns the elapsed ms */
static uint64_t
run_burst(inst *in, int together, burst_arg *sum)
{
    burst_arg b[8];
    pthread_t th[8];
    uint64_t t0 = sestest_now_ms();
    int i;

    memset(sum, 0, sizeof(*sum));
    for (i = 0; i < 8; i++) {
        b[i] = (burst_arg){in, i, together, t0, 0, 0, 0, 0, 0};
        assert_int_equal(pthread_create(&th[i], NULL, burst_thread, &b[i]), 0);
    }
    for (i = 0; i < 8; i++) {
        pthread_join(th[i], NULL);
        sum->unknown += b[i].unknown;
        sum->tempfail += b[i].tempfail;
        sum->other += b[i].other;
        sum->max_over = b[i].max_over > sum->max_over ? b[i].max_over : sum->max_over;
        sum->max_latency =
            b[i].max_latency > sum->max_latency ? b[i].max_latency : sum->max_latency;
    }
    return sestest_now_ms() - t0;
}

static void
test_ses_burst_of_1000_lookups_keeps_rate_and_deadlines(void **state)
{
    static const struct {
        const char *what;
        int together, rate, burst;
    } t[] = {
        {"1000 arrive at once, deadline t0+2s", 1, 10, 5},
        {"1000 in a row, each its own 2 s deadline", 0, 100, 10},
    };
    enum { SLACK_MS = 250 };
    size_t k;

    (void)state;
    sestest_env_static();
    for (k = 0; k < sizeof(t) / sizeof(t[0]); k++) {
        burst_arg sum;
        json_t *stats;
        long calls, peak;
        uint64_t elapsed;
        inst in;

        assert_int_equal(sestest_inst_open(&in, 0,
                                           BASE_CONF "warmup_interval = 0; rate = %d; burst = %d;",
                                           sestest_port, t[k].rate, t[k].burst),
                         0);
        json_decref(sestest_control("POST", "/__reset"));
        elapsed = run_burst(&in, t[k].together, &sum);
        stats = sestest_control("GET", "/__stats");
        calls = (long)json_integer_value(
            json_object_get(json_object_get(stats, "counts"), "GetEmailIdentity"));
        peak = max_per_second(json_object_get(json_object_get(stats, "times"), "GetEmailIdentity"));
        json_decref(stats);
        print_message("burst (%s; rate %d burst %d; 8 threads): %llu ms, %d UNKNOWN (answered), "
                      "%d TEMPFAIL, GetEmailIdentity calls %ld, peak %ld in 1 s, max latency "
                      "%llu ms, max past deadline %llu ms\n",
                      t[k].what, t[k].rate, t[k].burst, (unsigned long long)elapsed, sum.unknown,
                      sum.tempfail, calls, peak, (unsigned long long)sum.max_latency,
                      (unsigned long long)sum.max_over);
        assert_int_equal(sum.other, 0);
        assert_int_equal(sum.unknown + sum.tempfail, 1000);
        assert_int_equal(sum.unknown, calls);
        assert_true(calls >= t[k].burst);
        assert_true(calls <= t[k].burst + (long)((uint64_t)t[k].rate * elapsed / 1000) + 1);
        /* GCRA admits at most burst + rate in any 1 s window (the total above is the exact
         * bound); the server stamps requests on arrival, and on a loaded 2-core machine
         * (make -j2 check) requests granted ~100 ms apart can arrive together: allow 1 + 10% */
        assert_true(peak <= t[k].rate + t[k].burst + 1 + t[k].rate / 10);
        assert_true(sum.max_over <= SLACK_MS);
        assert_true(sum.max_latency <= 2000 + SLACK_MS);
        sestest_inst_close(&in);
    }
}

static void
test_ses_429_backs_off_and_tempfails_within_deadline(void **state)
{
    uint64_t t;
    inst in;

    (void)state;
    sestest_env_static();
    assert_int_equal(sestest_inst_open(&in, 0,
                                       BASE_CONF "warmup_interval = 0; rate = 100; burst = 10;",
                                       sestest_port),
                     0);
    json_decref(sestest_control("POST", "/__reset"));
    sestest_set_mode("ses=429");
    sestest_log_mark();
    t = sestest_now_ms();
    assert_int_equal(sestest_lookup(&in, "verified@example.com", 1000, NULL), SM_ID_TEMPFAIL);
    assert_true(sestest_now_ms() - t <= 1000 + 100);
    /* the whole instance backs off: the next sestest_lookup does not reach SES */
    t = sestest_now_ms();
    assert_int_equal(sestest_lookup(&in, "example.com", 200, NULL), SM_ID_TEMPFAIL);
    assert_true(sestest_now_ms() - t <= 200 + 100);
    assert_int_equal(sestest_api_count("Throttled"), 1);
    assert_true(sestest_logged_since_mark("throttled by SES"));
    sestest_set_mode("ses=ok");
    assert_int_equal(sestest_lookup_until(&in, "verified@example.com", 5000), SM_ID_VERIFIED);
    sestest_inst_close(&in);
}

static void
test_ses_failures_tempfail_within_deadline_with_clear_log_line(void **state)
{
    static const struct {
        const char *mode, *log;
        uint64_t deadline_ms;
    } t[] = {
        {"ses=500", "answered HTTP 500", 1500},
        {"ses=slow:3000", "cannot reach the SES endpoint", 1000},
        {"ses=expired", "clock is off by more than 5 minutes", 1500},
        {"ses=denied", "lack the IAM permission ses:GetEmailIdentity", 1500},
        {"ses=silent", "cannot reach the SES endpoint", 1500},
    };
    size_t i;
    inst in;

    (void)state;
    sestest_env_static();
    for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
        uint64_t start;
        assert_int_equal(sestest_inst_open(&in, 0,
                                           BASE_CONF "warmup_interval = 0; rate = 100; "
                                                     "timeout_ms = 10000;",
                                           sestest_port),
                         0);
        sestest_set_mode(t[i].mode);
        sestest_log_mark();
        start = sestest_now_ms();
        assert_int_equal(sestest_lookup(&in, "verified@example.com", t[i].deadline_ms, NULL),
                         SM_ID_TEMPFAIL);
        print_message("%s: TEMPFAIL after %llu ms\n", t[i].mode,
                      (unsigned long long)(sestest_now_ms() - start));
        assert_true(sestest_now_ms() - start <= t[i].deadline_ms + 150);
        assert_true(sestest_logged_since_mark(t[i].log));
        sestest_set_mode("ses=ok");
        sestest_inst_close(&in);
    }
}

static void
test_ses_imds_credentials_refresh_and_expire(void **state)
{
    char ep[64];
    long before;
    uint64_t until;
    inst in;

    (void)state;
    sestest_env_clear();
    snprintf(ep, sizeof(ep), "http://127.0.0.1:%d", sestest_port);
    setenv("AWS_EC2_METADATA_SERVICE_ENDPOINT", ep, 1);
    sestest_log_mark();
    /* temporary credentials live 4 s (fixture temp_ttl); refresh 2 s before */
    assert_int_equal(sestest_inst_open(
                         &in, 1,
                         BASE_CONF "warmup_interval = 0; rate = 100; "
                                   "credentials_source = \"imds\"; credentials_refresh_margin = 2;",
                         sestest_port),
                     0);
    assert_int_equal(sestest_lookup_until(&in, "verified@example.com", 5000), SM_ID_VERIFIED);
    before = sestest_api_count("IMDSCreds");
    sleep(5); /* longer than the credentials' lifetime */
    assert_int_equal(sestest_lookup(&in, "verified@example.com", 2000, NULL), SM_ID_VERIFIED);
    print_message("IMDS credential fetches: %ld then %ld\n", before,
                  sestest_api_count("IMDSCreds"));
    assert_true(sestest_api_count("IMDSCreds") >= before + 2);
    assert_int_equal(sestest_api_count("ExpiredToken"), 0);
    /* refresh fails: keep the current credentials until they expire, then TEMPFAIL */
    sestest_set_mode("creds=500");
    assert_int_equal(sestest_lookup(&in, "verified@example.com", 2000, NULL), SM_ID_VERIFIED);
    for (until = sestest_now_ms() + 8000; sestest_now_ms() < until; usleep(200 * 1000))
        if (sestest_lookup(&in, "verified@example.com", 1000, NULL) == SM_ID_TEMPFAIL)
            break;
    assert_true(sestest_now_ms() < until);
    assert_true(sestest_logged_since_mark("keeping the current credentials"));
    assert_true(sestest_logged_since_mark("expired at"));
    sestest_set_mode("creds=ok");
    assert_int_equal(sestest_lookup_until(&in, "verified@example.com", 8000), SM_ID_VERIFIED);
    sestest_inst_close(&in);
}

static void
test_ses_container_credentials_rules(void **state)
{
    char url[128], tok[400];
    inst in;

    (void)state;
    sestest_env_clear();
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/container/creds", sestest_port);
    setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", url, 1);
    sestest_write_file("container-token", "container-" SECRET_MARK "-token\n", 0600, tok,
                       sizeof(tok));
    setenv("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE", tok, 1);
    assert_int_equal(
        sestest_inst_open(&in, 1, BASE_CONF "warmup_interval = 0; rate = 100;", sestest_port), 0);
    assert_int_equal(sestest_lookup_until(&in, "example.com", 5000), SM_ID_VERIFIED);
    sestest_inst_close(&in);
    /* a token with CR/LF inside is refused (header injection) */
    unsetenv("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE");
    setenv("AWS_CONTAINER_AUTHORIZATION_TOKEN", "abc\r\nX-Evil: 1", 1);
    sestest_log_mark();
    assert_int_equal(sestest_inst_open(&in, 1, BASE_CONF "warmup_interval = 0;", sestest_port), 0);
    assert_int_equal(sestest_lookup_until(&in, "example.com", 1500), SM_ID_TEMPFAIL);
    assert_true(sestest_logged_since_mark("CR or LF"));
    sestest_inst_close(&in);
    /* http to anything but loopback / 169.254.170.2 / .23 is refused */
    unsetenv("AWS_CONTAINER_AUTHORIZATION_TOKEN");
    setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", "http://192.0.2.1/creds", 1);
    sestest_log_mark();
    assert_int_equal(sestest_inst_open(&in, 1, BASE_CONF "warmup_interval = 0;", sestest_port), 0);
    assert_int_equal(sestest_lookup_until(&in, "example.com", 1500), SM_ID_TEMPFAIL);
    assert_true(sestest_logged_since_mark("refusing credentials URL"));
    sestest_inst_close(&in);
}

static void
test_ses_web_identity_through_sts(void **state)
{
    char path[400];
    inst in;

    (void)state;
    sestest_env_clear();
    sestest_write_file("jwt", "jwt-" SECRET_MARK "-token\n", 0600, path, sizeof(path));
    setenv("AWS_WEB_IDENTITY_TOKEN_FILE", path, 1);
    setenv("AWS_ROLE_ARN", "arn:aws:iam::123456789012:role/ses-milter", 1);
    assert_int_equal(sestest_inst_open(&in, 1,
                                       BASE_CONF "warmup_interval = 0; rate = 100; "
                                                 "sts_endpoint = \"http://127.0.0.1:%d/sts\";",
                                       sestest_port, sestest_port),
                     0);
    assert_int_equal(sestest_lookup_until(&in, "sub.example.org", 5000), SM_ID_VERIFIED);
    assert_true(sestest_api_count("STS") >= 1);
    sestest_inst_close(&in);
}

static void
test_ses_shared_files_profiles_and_loose_mode_warning(void **state)
{
    char cpath[400], fpath[400];
    inst in;

    (void)state;
    sestest_env_clear();
    sestest_write_file("credentials",
                       "[default]\naws_access_key_id = AKIDWRONG\naws_secret_access_key = x\n\n"
                       "[work]\n# comment\naws_access_key_id = " STATIC_AK "\n"
                       "aws_secret_access_key = " STATIC_SK "\n",
                       0644, cpath, sizeof(cpath));
    sestest_write_file("config",
                       "[default]\nregion = eu-west-1\n[profile cfgonly]\n"
                       "aws_access_key_id=" TOKEN_AK "\naws_secret_access_key=" TOKEN_SK "\n"
                       "aws_session_token=" TOKEN_TOK "\n",
                       0600, fpath, sizeof(fpath));
    setenv("AWS_SHARED_CREDENTIALS_FILE", cpath, 1);
    setenv("AWS_CONFIG_FILE", fpath, 1);
    sestest_log_mark();
    assert_int_equal(sestest_inst_open(&in, 0,
                                       BASE_CONF
                                       "warmup_interval = 0; rate = 100; "
                                       "profile = \"work\"; credentials_source = \"file\";",
                                       sestest_port),
                     0);
    assert_int_equal(sestest_lookup(&in, "example.com", 3000, NULL), SM_ID_VERIFIED);
    assert_int_equal(sestest_count_since_mark("readable by group or others"), 1);
    sestest_inst_close(&in);
    setenv("AWS_PROFILE", "cfgonly", 1);
    assert_int_equal(
        sestest_inst_open(&in, 0, BASE_CONF "warmup_interval = 0; rate = 100;", sestest_port), 0);
    assert_int_equal(sestest_lookup(&in, "example.com", 3000, NULL), SM_ID_VERIFIED);
    sestest_inst_close(&in);
}

/*
 * A wrong secret is answered SignatureDoesNotMatch with the canonical request and
 * the string to sign echoed (session token value, key id, hashes): the line logged
 * names the failure and carries none of them.
 */
static void
test_ses_bad_credentials_log_clear_line_and_tempfail(void **state)
{
    static const struct {
        const char *ak, *sk, *tok;
    } t[] = {
        {"AKIDUNKNOWN", "whatever-" SECRET_MARK, NULL},
        {STATIC_AK, "wrong-" SECRET_MARK "-secret", NULL},
        {TOKEN_AK, "wrong-" SECRET_MARK "-secret", TOKEN_TOK},
    };
    size_t i;
    inst in;

    (void)state;
    for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
        long mismatches = sestest_api_count("BadSignature");

        sestest_env_clear();
        setenv("AWS_ACCESS_KEY_ID", t[i].ak, 1);
        setenv("AWS_SECRET_ACCESS_KEY", t[i].sk, 1);
        if (t[i].tok != NULL)
            setenv("AWS_SESSION_TOKEN", t[i].tok, 1);
        sestest_log_mark();
        assert_int_equal(
            sestest_inst_open(&in, 0, BASE_CONF "warmup_interval = 0; rate = 100;", sestest_port),
            0);
        assert_int_equal(sestest_lookup(&in, "example.com", 3000, NULL), SM_ID_TEMPFAIL);
        assert_true(sestest_logged_since_mark("AWS rejected the credentials from env"));
        if (t[i].tok != NULL) {
            /* the endpoint really echoed the canonical request with the token */
            assert_true(sestest_api_count("BadSignature") > mismatches);
            assert_true(sestest_logged_since_mark("SignatureDoesNotMatch"));
            assert_int_equal(sestest_count_since_mark(TOKEN_TOK), 0);
            assert_int_equal(sestest_count_since_mark("sess-token-"), 0);
            assert_int_equal(sestest_count_since_mark(TOKEN_AK), 0);
        }
        sestest_inst_close(&in);
    }
}

static void
test_ses_tls_untrusted_refused_trusted_with_ca_file(void **state)
{
    char cmd[1200], cert[400], key[400];
    int port;
    pid_t pid;
    inst in;

    (void)state;
    sestest_env_static();
    snprintf(cert, sizeof(cert), "%s/cert.pem", sestest_tmpdir);
    snprintf(key, sizeof(key), "%s/key.pem", sestest_tmpdir);
    snprintf(cmd, sizeof(cmd),
             "openssl req -x509 -newkey rsa:2048 -nodes -keyout '%s' -out '%s' -days 2 "
             "-subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 >/dev/null 2>&1",
             key, cert);
    assert_int_equal(system(cmd), 0);
    pid = sestest_endpoint_start("tls", cert, key, &port);
    sestest_log_mark();
    assert_int_equal(
        sestest_inst_open(&in, 0,
                          "region = \"us-east-1\"; endpoint = \"https://127.0.0.1:%d\";"
                          " warmup_interval = 0; rate = 100;",
                          port),
        0);
    assert_int_equal(sestest_lookup(&in, "example.com", 3000, NULL), SM_ID_TEMPFAIL);
    assert_true(sestest_logged_since_mark("cannot reach the SES endpoint https://127.0.0.1"));
    sestest_inst_close(&in);
    assert_int_equal(
        sestest_inst_open(&in, 0,
                          "region = \"us-east-1\"; endpoint = \"https://127.0.0.1:%d\";"
                          " warmup_interval = 0; rate = 100; ca_file = \"%s\";",
                          port, cert),
        0);
    assert_int_equal(sestest_lookup(&in, "example.com", 3000, NULL), SM_ID_VERIFIED);
    sestest_inst_close(&in);
    sestest_endpoint_stop(pid);
}

/*
 * The ABI 1.2 account entry, per GetAccount variant of the endpoint (signed and checked
 * like every request): what the host is told, with the on_* settings applied
 */
static void
test_ses_account_state_per_getaccount_variant(void **state)
{
    static const struct {
        const char *variant;
        int verified_only;
        sm_acct_action bulk, transactional;
        double rate, max24, sent;
        const char *status;
    } t[] = {
        {"healthy", 0, SM_ACCT_ACCEPT, SM_ACCT_ACCEPT, 14, 50000, 0, "healthy"},
        {"sandbox", 1, SM_ACCT_ACCEPT, SM_ACCT_ACCEPT, 1, 200, 0, "in the SES sandbox"},
        {"probation", 0, SM_ACCT_HOLD, SM_ACCT_ACCEPT, 14, 50000, 0, "under SES PROBATION"},
        {"shutdown", 0, SM_ACCT_REJECT, SM_ACCT_REJECT, 14, 50000, 0,
         "SHUT DOWN by SES, disabled for sending in SES"},
        {"disabled", 0, SM_ACCT_TEMPFAIL, SM_ACCT_TEMPFAIL, 14, 50000, 0,
         "disabled for sending in SES"},
        {"quota:1000,7,250", 0, SM_ACCT_ACCEPT, SM_ACCT_ACCEPT, 7, 1000, 250, "healthy"},
    };
    size_t k;

    (void)state;
    sestest_env_static();
    for (k = 0; k < sizeof(t) / sizeof(t[0]); k++) {
        char mode[64];
        sm_acct_state st;
        uint64_t until;
        inst in;

        snprintf(mode, sizeof(mode), "account=%s", t[k].variant);
        sestest_set_mode(mode);
        assert_int_equal(sestest_inst_open(&in, 1,
                                           BASE_CONF "warmup_interval = 0; account_interval = 0; "
                                                     "rate = 50; burst = 5; "
                                                     "on_probation_bulk = \"hold\";",
                                           sestest_port),
                         0);
        assert_non_null(sestest_plugin->account);
        memset(&st, 0, sizeof(st));
        for (until = sestest_now_ms() + 5000; sestest_now_ms() < until; usleep(20 * 1000)) {
            memset(&st, 0, sizeof(st));
            st.size = sizeof(st);
            assert_int_equal(sestest_plugin->account(in.pi, &st), 0);
            if (st.known)
                break;
        }
        print_message("%s: %s; %s\n", t[k].variant, st.status, st.detail);
        assert_true(st.known);
        assert_string_equal(st.region, "us-east-1");
        assert_string_equal(st.status, t[k].status);
        assert_int_equal(st.recipients_verified_only, t[k].verified_only);
        assert_int_equal(st.bulk, t[k].bulk);
        assert_int_equal(st.transactional, t[k].transactional);
        assert_true(st.max_send_rate == t[k].rate);
        assert_true(st.max_24h_send == t[k].max24);
        assert_true(st.sent_last_24h == t[k].sent);
        sestest_inst_close(&in);
    }
    sestest_set_mode("account=fixture");
}

static void
test_ses_config_errors_say_file_line(void **state)
{
    static const struct {
        const char *conf, *want;
    } t[] = {
        {"endpoint = \"http://127.0.0.1:1\"; insecure_http = true;", "region is required"},
        {"region = \"us-east-1\";\nbogus = 1;", "test.conf:2: bogus: unknown setting"},
        {"region = \"us-east-1\";\nendpoint = \"http://127.0.0.1:1\";",
         "test.conf:2: ses: endpoint"},
        {"region = \"us-east-1\";\ncredentials_source = \"magic\";",
         "test.conf:2: ses: credentials_source"},
        {"region = \"us-east-1\";\nrate = 0;", "test.conf:2: rate: out of range"},
        {"region = \"us east\";", "malformed region"},
        {"region = \"us-east-1\";\non_shutdown = \"bounce\";",
         "test.conf:2: ses: on_shutdown must be one of accept, tempfail, hold, reject"},
        {"region = \"us-east-1\";\naccount_interval = 2;",
         "test.conf:2: ses: account_interval must be 0"},
    };
    size_t i;
    inst in;

    (void)state;
    sestest_env_static();
    for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
        assert_int_equal(sestest_inst_open(&in, 0, "%s", t[i].conf), -1);
        print_message("%s\n", in.err);
        assert_non_null(strstr(in.err, t[i].want));
        assert_null(in.pi);
    }
    setenv("AWS_REGION", "eu-central-1", 1);
    assert_int_equal(
        sestest_inst_open(&in, 0, "endpoint = \"http://127.0.0.1:1\"; insecure_http = true;"), 0);
    sestest_inst_close(&in);
    sestest_env_clear();
    setenv("AWS_EC2_METADATA_DISABLED", "true", 1);
    assert_int_equal(sestest_inst_open(&in, 0, BASE_CONF, sestest_port), -1);
    assert_non_null(strstr(in.err, "no AWS credentials found"));
}

static void
dump_line(void *arg, const char *line)
{
    char *buf = arg;

    strncat(buf, line, 4095 - strlen(buf));
    strncat(buf, "\n", 4095 - strlen(buf));
}

static void
test_ses_dump_prints_effective_settings_without_secrets(void **state)
{
    char buf[4096] = "";
    inst in;

    (void)state;
    sestest_env_static();
    setenv("AWS_REGION", "eu-west-1", 1);
    assert_int_equal(sestest_inst_open(&in, 0, "rate = 3; endpoint = \"https://127.0.0.1:1\";"), 0);
    sestest_plugin->dump(in.pi, dump_line, buf);
    print_message("%s", buf);
    assert_non_null(strstr(buf, "region = \"eu-west-1\";\n"));
    assert_non_null(strstr(buf, "rate = 3;\n"));
    assert_non_null(strstr(buf, "warmup_interval = 300;\n"));
    assert_non_null(strstr(buf, "credentials in use: env"));
    assert_null(strstr(buf, SECRET_MARK));
    sestest_inst_close(&in);
}

/* runs last: nothing logged by any test above carried a secret */
static void
test_ses_no_secret_in_any_log_line(void **state)
{
    int i;

    (void)state;
    assert_true(sestest_nlines > 10);
    for (i = 0; i < sestest_nlines; i++) {
        if (strstr(sestest_log_lines[i], SECRET_MARK) != NULL ||
            strstr(sestest_log_lines[i], "DONOTLOG") ||
            strstr(sestest_log_lines[i], "DO-NOT-LOG") ||
            strstr(sestest_log_lines[i], "imds-session-token"))
            fail_msg("secret in log line: %s", sestest_log_lines[i]);
    }
    print_message("%d log lines checked, no secret\n", sestest_nlines);
}

/* ---- ABI 1.2 (sm_plugin.doctor), for "ses-milter doctor" (helper doctor) ---- */
static void
doctor_list_count(void *arg, const char *identity, sm_id_type type)
{
    (void)identity;
    (void)type;
    (*(int *)arg)++;
}

static void
test_ses_doctor_describe_keeps_tokens_and_list_walks_every_page(void **state)
{
    const sm_plugin_doctor *doc = sestest_plugin->doctor;
    sm_id_query q = {sizeof(q), "example.com", SM_IDKIND_DOMAIN, 0, "QTEST"};
    sm_id_description d;
    char err[512] = "";
    int listed = 0;
    inst in;

    (void)state;
    assert_non_null(doc);
    assert_true(doc->size >= sizeof(sm_plugin_doctor));
    sestest_env_static();
    assert_int_equal(sestest_inst_open(&in, 0,
                                       BASE_CONF "warmup_interval = 0; rate = 100; burst = 20;",
                                       sestest_port),
                     0);
    memset(&d, 0, sizeof(d));
    d.size = sizeof(d);
    d.attrs.size = sizeof(d.attrs);
    q.deadline_ms = sestest_now_ms() + 3000;
    assert_int_equal(doc->describe(in.pi, &q, &d), SM_ID_VERIFIED);
    assert_int_equal(d.verified_for_sending, 1);
    assert_string_equal(d.verification_status, "SUCCESS");
    assert_int_equal(d.n_dkim_tokens, 3);
    assert_string_equal(d.dkim_tokens[0], "a");
    assert_string_equal(d.dkim_tokens[2], "c");
    assert_string_equal(d.attrs.mail_from_domain, "bounce.example.com");
    q.identity = "nobody@example.com";
    q.kind = SM_IDKIND_ADDRESS;
    assert_int_equal(doc->describe(in.pi, &q, &d), SM_ID_UNKNOWN);
    assert_int_equal(
        doc->list(in.pi, sestest_now_ms() + 5000, doctor_list_count, &listed, err, sizeof(err)), 0);
    assert_int_equal(listed, FIXTURE_IDENTITIES);
    sestest_inst_close(&in);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_ses_verdicts_for_address_domain_subdomain_and_404,
                                        sestest_setup_test, sestest_teardown_test),
        cmocka_unit_test_setup_teardown(test_ses_session_token_is_sent_and_signed,
                                        sestest_setup_test, sestest_teardown_test),
        cmocka_unit_test_setup_teardown(test_ses_warmup_fills_cache_without_get_calls,
                                        sestest_setup_test, sestest_teardown_test),
        cmocka_unit_test_setup_teardown(test_ses_reload_successor_takes_over_warmup_state,
                                        sestest_setup_test, sestest_teardown_test),
        cmocka_unit_test_setup_teardown(test_ses_warmup_access_denied_names_the_permissions,
                                        sestest_setup_test, sestest_teardown_test),
        cmocka_unit_test_setup_teardown(test_ses_burst_of_1000_lookups_keeps_rate_and_deadlines,
                                        sestest_setup_test, sestest_teardown_test),
        cmocka_unit_test_setup_teardown(test_ses_429_backs_off_and_tempfails_within_deadline,
                                        sestest_setup_test, sestest_teardown_test),
        cmocka_unit_test_setup_teardown(
            test_ses_failures_tempfail_within_deadline_with_clear_log_line, sestest_setup_test,
            sestest_teardown_test),
        cmocka_unit_test_setup_teardown(test_ses_imds_credentials_refresh_and_expire,
                                        sestest_setup_test, sestest_teardown_test),
        cmocka_unit_test_setup_teardown(test_ses_container_credentials_rules, sestest_setup_test,
                                        sestest_teardown_test),
        cmocka_unit_test_setup_teardown(test_ses_web_identity_through_sts, sestest_setup_test,
                                        sestest_teardown_test),
        cmocka_unit_test_setup_teardown(test_ses_shared_files_profiles_and_loose_mode_warning,
                                        sestest_setup_test, sestest_teardown_test),
        cmocka_unit_test_setup_teardown(test_ses_bad_credentials_log_clear_line_and_tempfail,
                                        sestest_setup_test, sestest_teardown_test),
        cmocka_unit_test_setup_teardown(test_ses_tls_untrusted_refused_trusted_with_ca_file,
                                        sestest_setup_test, sestest_teardown_test),
        cmocka_unit_test_setup_teardown(test_ses_account_state_per_getaccount_variant,
                                        sestest_setup_test, sestest_teardown_test),
        cmocka_unit_test_setup_teardown(test_ses_config_errors_say_file_line, sestest_setup_test,
                                        sestest_teardown_test),
        cmocka_unit_test_setup_teardown(test_ses_dump_prints_effective_settings_without_secrets,
                                        sestest_setup_test, sestest_teardown_test),
        cmocka_unit_test_setup_teardown(
            test_ses_doctor_describe_keeps_tokens_and_list_walks_every_page, sestest_setup_test,
            sestest_teardown_test),
        cmocka_unit_test_setup_teardown(test_ses_no_secret_in_any_log_line, sestest_setup_test,
                                        sestest_teardown_test),
    };
    int rc;

    if ((sestest_plugin = sestest_load_plugin()) == NULL)
        return 1;
    rc = cmocka_run_group_tests(tests, sestest_setup_group, sestest_teardown_group);
    sestest_unload();
    return rc;
}
