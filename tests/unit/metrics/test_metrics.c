/*
 * test_metrics.c - the registry (metrics.c): counting, the text format, bounded labels,
 * the listen address
 *
 * One process, one registry: each test reads the rendered text and compares the series
 * it changed before and after, so the order of the tests does not matter.
 */
#include "config.h"

#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "metrics/metrics.h"

/* render - the whole text (caller frees) */
static char *
render(void)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *fp = open_memstream(&buf, &len);

    assert_non_null(fp);
    metrics_render(fp);
    assert_int_equal(fclose(fp), 0);
    return buf;
}

/* series - the value of one series ("name{labels}"), -1 when absent */
static double
series(const char *text, const char *key)
{
    size_t kl = strlen(key);

    for (const char *p = text; p != NULL && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
        if (strncmp(p, key, kl) == 0 && p[kl] == ' ')
            return strtod(p + kl + 1, NULL);
    return -1;
}

static double
series_now(const char *key)
{
    char *t = render();
    double v = series(t, key);

    free(t);
    return v;
}

static void
test_metrics_message_counted_under_scope_action_and_reason(void **state)
{
    static const struct {
        metrics_scope scope;
        metrics_action action;
        metrics_reason reason;
        const char *key;
    } cases[] = {
        {METRICS_SCOPE_AUTHENTICATED, METRICS_ACTION_ACCEPT, METRICS_REASON_PASSED,
         "ses_milter_messages_total{scope=\"authenticated\",action=\"accept\",reason=\"passed\"}"},
        {METRICS_SCOPE_INTERNAL_NETWORK, METRICS_ACTION_REJECT,
         METRICS_REASON_IDENTITY_NOT_VERIFIED,
         "ses_milter_messages_total{scope=\"internal_network\",action=\"reject\","
         "reason=\"identity_not_verified\"}"},
        {METRICS_SCOPE_EXTERNAL, METRICS_ACTION_ACCEPT, METRICS_REASON_OUT_OF_SCOPE,
         "ses_milter_messages_total{scope=\"external\",action=\"accept\",reason=\"out_of_scope\"}"},
        {METRICS_SCOPE_LOCAL_SUBMISSION, METRICS_ACTION_ABORTED, METRICS_REASON_ABORTED,
         "ses_milter_messages_total{scope=\"local_submission\",action=\"aborted\","
         "reason=\"aborted\"}"},
        {METRICS_SCOPE_INTERNAL_NETWORK, METRICS_ACTION_TEMPFAIL, METRICS_REASON_AUDIT_UNAVAILABLE,
         "ses_milter_messages_total{scope=\"internal_network\",action=\"tempfail\","
         "reason=\"audit_unavailable\"}"},
        /* out of range: counted as "none", never outside the tables */
        {(metrics_scope)99, (metrics_action)-1, (metrics_reason)42,
         "ses_milter_messages_total{scope=\"none\",action=\"none\",reason=\"passed\"}"},
    };

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        double before = series_now(cases[i].key);
        metrics_message(cases[i].scope, cases[i].action, cases[i].reason);
        metrics_message(cases[i].scope, cases[i].action, cases[i].reason);
        assert_true(series_now(cases[i].key) == (before < 0 ? 0 : before) + 2);
    }
}

static void
test_metrics_zero_series_shown_for_single_label_families(void **state)
{
    char *t = render();

    (void)state;
    assert_true(series(t, "ses_milter_dns_queries_total") >= 0);
    assert_true(series(t, "ses_milter_reloads_total{result=\"failure\"}") >= 0);
    assert_true(series(t, "ses_milter_ses_api_calls_total{operation=\"other\"}") >= 0);
    assert_true(series(t, "ses_milter_build_info{version=\"" PACKAGE_VERSION "\"}") == 1);
    assert_non_null(strstr(t, "# TYPE ses_milter_messages_total counter\n"));
    assert_non_null(strstr(t, "# TYPE ses_milter_stage_duration_seconds histogram\n"));
    assert_non_null(strstr(t, "# TYPE process_start_time_seconds gauge\n"));
    free(t);
}

static void
test_metrics_api_operation_outside_the_table_is_other(void **state)
{
    const char *gei = "ses_milter_ses_api_calls_total{operation=\"GetEmailIdentity\"}";
    const char *oth = "ses_milter_ses_api_throttles_total{operation=\"other\"}";
    double g = series_now(gei), o = series_now(oth);

    (void)state;
    metrics_api(METRICS_API_CALL, "GetEmailIdentity");
    metrics_api(METRICS_API_THROTTLED, "user@example.com"); /* never a label */
    metrics_api(METRICS_API_THROTTLED, NULL);
    metrics_api(77, "GetEmailIdentity"); /* an unknown event: ignored */
    assert_true(series_now(gei) == g + 1);
    assert_true(series_now(oth) == o + 2);
    char *t = render();
    assert_null(strstr(t, "example.com"));
    free(t);
}

static void
test_metrics_sources_bounded_then_other(void **state)
{
    char name[32], *t;
    int first = metrics_instance_slot("src-0", "file"), slot = first;

    (void)state;
    assert_int_equal(metrics_instance_slot("src-0", "file"), first); /* same name, same slot */
    for (int i = 1; i < METRICS_MAX_INSTANCES + 4; i++) {
        snprintf(name, sizeof(name), "src-%d", i);
        slot = metrics_instance_slot(name, "file");
        assert_true(slot >= 0 && slot <= METRICS_MAX_INSTANCES);
    }
    assert_int_equal(slot, METRICS_MAX_INSTANCES); /* past the table */
    metrics_gate_answer(slot, 1, METRICS_ORIGIN_HIT);
    metrics_gate_answer(first, 2, METRICS_ORIGIN_MISS);
    metrics_gate_answer(first, 9, (metrics_origin)9); /* out of range: invalid, none */
    t = render();
    assert_true(series(t, "ses_milter_gate_answers_total{source=\"other\",plugin=\"other\","
                          "answer=\"verified\",cache=\"hit\"}") >= 1);
    assert_true(series(t, "ses_milter_gate_answers_total{source=\"src-0\",plugin=\"file\","
                          "answer=\"not_verified\",cache=\"miss\"}") >= 1);
    assert_true(series(t, "ses_milter_gate_answers_total{source=\"src-0\",plugin=\"file\","
                          "answer=\"invalid\",cache=\"none\"}") >= 1);
    assert_null(strstr(t, "source=\"src-19\""));
    free(t);
}

static void
test_metrics_label_values_escaped(void **state)
{
    char *t;
    int slot = metrics_instance_slot("q\"b\\s\nl", "file");

    (void)state;
    metrics_gate_answer(slot, 3, METRICS_ORIGIN_STALE);
    t = render();
    assert_true(slot < METRICS_MAX_INSTANCES);
    assert_non_null(strstr(t, "source=\"q\\\"b\\\\s\\nl\""));
    assert_null(strstr(t, "q\"b"));
    free(t);
}

static void
test_metrics_histogram_buckets_cumulative_and_count_equals_inf(void **state)
{
    const char *p = "ses_milter_stage_duration_seconds";
    char key[256], *t;
    uint64_t now;
    double prev = 0, inf, count, sum;

    (void)state;
    now = metrics_clock();
    metrics_stage_time(METRICS_STAGE_AUDIT, now);                 /* ~0 s */
    metrics_stage_time(METRICS_STAGE_AUDIT, now - 3000000000ull); /* 3 s: over 2.5 */
    metrics_stage_time((metrics_stage)99, now);                   /* no such stage: ignored */
    t = render();
    snprintf(key, sizeof(key), "%s_bucket{stage=\"audit\",le=\"0.0001\"}", p);
    assert_true(series(t, key) >= 1);
    snprintf(key, sizeof(key), "%s_bucket{stage=\"audit\",le=\"2.5\"}", p);
    prev = series(t, key);
    snprintf(key, sizeof(key), "%s_bucket{stage=\"audit\",le=\"+Inf\"}", p);
    inf = series(t, key);
    snprintf(key, sizeof(key), "%s_count{stage=\"audit\"}", p);
    count = series(t, key);
    snprintf(key, sizeof(key), "%s_sum{stage=\"audit\"}", p);
    sum = series(t, key);
    assert_true(inf == prev + 1);
    assert_true(count == inf);
    assert_true(sum >= 3.0);
    free(t);
}

static void *
adder(void *arg)
{
    (void)arg;
    for (int i = 0; i < 10000; i++)
        metrics_dns(0, i % 2);
    return NULL;
}

static void
test_metrics_counters_add_up_across_threads(void **state)
{
    pthread_t t[4];
    double q = series_now("ses_milter_dns_queries_total");
    double e = series_now("ses_milter_dns_errors_total");

    (void)state;
    for (int i = 0; i < 4; i++)
        assert_int_equal(pthread_create(&t[i], NULL, adder, NULL), 0);
    for (int i = 0; i < 4; i++)
        pthread_join(t[i], NULL);
    assert_true(series_now("ses_milter_dns_queries_total") == q + 40000);
    assert_true(series_now("ses_milter_dns_errors_total") == e + 20000);
}

static void
test_metrics_parse_listen_table(void **state)
{
    static const struct {
        const char *text;
        int ok;
        const char *why; /* a part of the reason */
    } cases[] = {
        {"127.0.0.1:9465", 1, NULL},
        {"0.0.0.0:80", 1, NULL},
        {"[::1]:9465", 1, NULL},
        {"[2001:db8::1]:65535", 1, NULL},
        {"127.0.0.1", 0, "is not ADDRESS:PORT"},
        {"localhost:9465", 0, "'localhost' is not an IPv4 address"},
        {"127.0.0.1:0", 0, "from 1 to 65535"},
        {"127.0.0.1:65536", 0, "from 1 to 65535"},
        {"127.0.0.1:-1", 0, "from 1 to 65535"},
        {"127.0.0.1:80x", 0, "from 1 to 65535"},
        {"127.0.0.1:", 0, "from 1 to 65535"},
        {"::1:9465", 0, "is not ADDRESS:PORT"},
        {"[::1]", 0, "is not [IPv6 address]:PORT"},
        {"[::1:9465", 0, "is not [IPv6 address]:PORT"},
        {"[]:9465", 0, "no address before the port"},
        {"[127.0.0.1]:9465", 0, "is not an IPv6 address"},
        {"", 0, "is not ADDRESS:PORT"},
    };
    struct sockaddr_storage ss;
    socklen_t len;
    char why[256];

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        int rc = metrics_parse_listen(cases[i].text, &ss, &len, why, sizeof(why));
        if (cases[i].ok) {
            assert_int_equal(rc, 0);
            assert_true(len > 0);
        } else {
            assert_int_equal(rc, -1);
            if (strstr(why, cases[i].why) == NULL)
                fail_msg("%s: '%s' does not say '%s'", cases[i].text, why, cases[i].why);
        }
    }
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_metrics_message_counted_under_scope_action_and_reason),
        cmocka_unit_test(test_metrics_zero_series_shown_for_single_label_families),
        cmocka_unit_test(test_metrics_api_operation_outside_the_table_is_other),
        cmocka_unit_test(test_metrics_label_values_escaped), /* before the table fills up */
        cmocka_unit_test(test_metrics_sources_bounded_then_other),
        cmocka_unit_test(test_metrics_histogram_buckets_cumulative_and_count_equals_inf),
        cmocka_unit_test(test_metrics_counters_add_up_across_threads),
        cmocka_unit_test(test_metrics_parse_listen_table),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
