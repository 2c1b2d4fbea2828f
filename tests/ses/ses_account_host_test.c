/*
 * ses_account_host_test.c - the SES plugin's account questions (ABI 1.2, sm_plugin.ask),
 * dlopened, against the botocore-checked endpoint
 *
 * Suppression list: 200 = suppressed with its reason, 404 = not suppressed and cached,
 * concurrent lookups of one address make one call (single-flight), a failure is TEMPFAIL
 * and not cached, the calls keep the instance's rate limit, an instance without
 * suppression = true answers UNKNOWN without a call.  Tenants: an identity is the tenant's
 * by its identity ARN (domain case-insensitive), a missing tenant (404) is NO, the list of
 * a tenant is asked once.  Helpers in sestest.c.
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

#include <cmocka.h>
#include <jansson.h>

#include "sestest.h"

static const char *account_fixture =
    "{\"region\": \"us-east-1\",\n"
    " \"credentials\": [{\"access_key_id\": \"" STATIC_AK "\", \"secret_access_key\": \"" STATIC_SK
    "\"}],\n"
    " \"account\": {\"ProductionAccessEnabled\": true, \"SendingEnabled\": true,\n"
    "   \"EnforcementStatus\": \"HEALTHY\"},\n"
    " \"identities\": {},\n"
    " \"suppressed\": {\"bounced@example.org\": {\"Reason\": \"BOUNCE\"},\n"
    "   \"complained@example.org\": {\"Reason\": \"COMPLAINT\", \"LastUpdateTime\": 1764700100}},\n"
    " \"tenants\": {\"t1\": [\"arn:aws:ses:us-east-1:123456789012:identity/example.com\",\n"
    "   \"arn:aws:ses:us-east-1:123456789012:identity/Ann@other.example\",\n"
    "   \"arn:aws:ses:us-east-1:123456789012:configuration-set/cs\"]}}\n";

/* ask - one question with a deadline timeout_ms from now */
static sm_ask_answer
ask(inst *in, sm_ask_question qu, const char *subject, const char *tenant, uint64_t timeout_ms,
    sm_ask_attrs *at)
{
    sm_ask_query q = {sizeof(q), qu, subject, tenant, sestest_now_ms() + timeout_ms, ""};

    memset(at, 0, sizeof(*at));
    at->size = sizeof(*at);
    return sestest_plugin->ask(in->pi, &q, at);
}

static void
test_ses_suppression_reasons_404_and_cache(void **state)
{
    static const struct {
        const char *addr;
        sm_ask_answer want;
        const char *reason, *origin, *last;
    } t[] = {
        {"bounced@example.org", SM_ASK_YES, "BOUNCE", "miss", "1764700000"},
        {"complained@example.org", SM_ASK_YES, "COMPLAINT", "miss", "1764700100"},
        {"ok@example.org", SM_ASK_NO, "", "miss", ""},
        {"Bounced@example.org", SM_ASK_NO, "", "miss", ""}, /* exact address: another one */
        {"bounced@example.org", SM_ASK_YES, "BOUNCE", "hit", "1764700000"},
        {"ok@example.org", SM_ASK_NO, "", "hit", ""},
    };
    sm_ask_attrs at;
    inst in;
    long before = sestest_api_count("GetSuppressedDestination");

    (void)state;
    sestest_env_static();
    assert_int_equal(sestest_inst_open(&in, 1,
                                       BASE_CONF "suppression = true; rate = 50; "
                                                 "burst = 50; warmup_interval = 0;",
                                       sestest_port),
                     0);
    for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
        sm_ask_answer a = ask(&in, SM_ASK_SUPPRESSED, t[i].addr, NULL, 3000, &at);
        if (a != t[i].want || strcmp(at.reason, t[i].reason) != 0 ||
            strcmp(at.origin, t[i].origin) != 0 || strcmp(at.last_update, t[i].last) != 0 ||
            strcmp(at.region, "us-east-1") != 0)
            fail_msg("%zu %s: answer %d reason %s origin %s last %s region %s (%s)", i, t[i].addr,
                     a, at.reason, at.origin, at.last_update, at.region, at.detail);
    }
    assert_int_equal(sestest_api_count("GetSuppressedDestination") - before, 4);
    sestest_inst_close(&in);
}

typedef struct sf_arg {
    inst *in;
    sm_ask_answer a;
} sf_arg;

static void *
sf_thread(void *p)
{
    sf_arg *s = p;
    sm_ask_attrs at;

    s->a = ask(s->in, SM_ASK_SUPPRESSED, "complained@example.org", NULL, 5000, &at);
    return NULL;
}

static void
test_ses_suppression_single_flight_one_call_for_concurrent_lookups(void **state)
{
    pthread_t th[8];
    sf_arg arg[8];
    inst in;
    long before;

    (void)state;
    sestest_env_static();
    assert_int_equal(sestest_inst_open(&in, 1,
                                       BASE_CONF "suppression = true; rate = 50; "
                                                 "burst = 50; warmup_interval = 0;",
                                       sestest_port),
                     0);
    sestest_set_mode("ses=slow:500"); /* every thread arrives while the first call is out */
    before = sestest_api_count("GetSuppressedDestination");
    for (int i = 0; i < 8; i++) {
        arg[i] = (sf_arg){&in, 0};
        assert_int_equal(pthread_create(&th[i], NULL, sf_thread, &arg[i]), 0);
    }
    for (int i = 0; i < 8; i++) {
        pthread_join(th[i], NULL);
        assert_int_equal(arg[i].a, SM_ASK_YES);
    }
    assert_int_equal(sestest_api_count("GetSuppressedDestination") - before, 1);
    sestest_inst_close(&in);
}

static void
test_ses_suppression_failure_tempfails_and_is_not_cached(void **state)
{
    sm_ask_attrs at;
    inst in;

    (void)state;
    sestest_env_static();
    assert_int_equal(sestest_inst_open(&in, 1,
                                       BASE_CONF "suppression = true; rate = 50; "
                                                 "burst = 50; warmup_interval = 0;",
                                       sestest_port),
                     0);
    sestest_set_mode("ses=500");
    assert_int_equal(ask(&in, SM_ASK_SUPPRESSED, "bounced@example.org", NULL, 2000, &at),
                     SM_ASK_TEMPFAIL);
    assert_non_null(strstr(at.detail, "server error"));
    sestest_set_mode("ses=429");
    assert_int_equal(ask(&in, SM_ASK_SUPPRESSED, "bounced@example.org", NULL, 2000, &at),
                     SM_ASK_TEMPFAIL);
    sestest_set_mode("ses=ok");
    /* the backoff after the 429 may still hold: ask again until it passes (bounded) */
    for (int i = 0; i < 50; i++) {
        if (ask(&in, SM_ASK_SUPPRESSED, "bounced@example.org", NULL, 3000, &at) != SM_ASK_TEMPFAIL)
            break;
    }
    assert_string_equal(at.reason, "BOUNCE");
    assert_string_equal(at.origin, "miss");
    sestest_inst_close(&in);
}

static void
test_ses_suppression_calls_keep_the_instance_rate_limit(void **state)
{
    json_t *st, *times;
    sm_ask_attrs at;
    inst in;
    size_t first;
    char addr[64];

    (void)state;
    sestest_env_static();
    assert_int_equal(sestest_inst_open(&in, 1,
                                       BASE_CONF "suppression = true; rate = 4; "
                                                 "burst = 1; warmup_interval = 0;",
                                       sestest_port),
                     0);
    st = sestest_control("GET", "/__stats");
    times = json_object_get(json_object_get(st, "times"), "GetSuppressedDestination");
    first = json_array_size(times);
    json_decref(st);
    for (int i = 0; i < 8; i++) {
        snprintf(addr, sizeof(addr), "rate%d@example.org", i);
        assert_int_equal(ask(&in, SM_ASK_SUPPRESSED, addr, NULL, 5000, &at), SM_ASK_NO);
    }
    st = sestest_control("GET", "/__stats");
    times = json_object_get(json_object_get(st, "times"), "GetSuppressedDestination");
    assert_int_equal(json_array_size(times) - first, 8);
    /* 4 per second with bursts of 1: successive calls at least ~250 ms apart */
    for (size_t i = first + 1; i < json_array_size(times); i++) {
        double gap = json_real_value(json_array_get(times, i)) -
                     json_real_value(json_array_get(times, i - 1));
        if (gap < 0.2)
            fail_msg("calls %zu and %zu only %.3f s apart (rate 4/s)", i - 1, i, gap);
    }
    json_decref(st);
    sestest_inst_close(&in);
}

static void
test_ses_questions_off_answer_unknown_without_a_call(void **state)
{
    sm_ask_attrs at;
    inst in;
    long s0 = sestest_api_count("GetSuppressedDestination");
    long t0 = sestest_api_count("ListTenantResources");

    (void)state;
    sestest_env_static();
    assert_int_equal(sestest_inst_open(&in, 1, BASE_CONF "warmup_interval = 0;", sestest_port), 0);
    assert_int_equal(ask(&in, SM_ASK_SUPPRESSED, "bounced@example.org", NULL, 2000, &at),
                     SM_ASK_UNKNOWN);
    assert_int_equal(ask(&in, SM_ASK_TENANT_IDENTITY, "example.com", "t1", 2000, &at),
                     SM_ASK_UNKNOWN);
    assert_int_equal(ask(&in, (sm_ask_question)99, "x", NULL, 2000, &at), SM_ASK_UNKNOWN);
    assert_int_equal(sestest_api_count("GetSuppressedDestination"), s0);
    assert_int_equal(sestest_api_count("ListTenantResources"), t0);
    sestest_inst_close(&in);
}

static void
test_ses_tenant_identity_by_arn(void **state)
{
    static const struct {
        const char *identity, *tenant;
        sm_ask_answer want;
        const char *origin;
    } t[] = {
        {"example.com", "t1", SM_ASK_YES, "miss"},
        {"EXAMPLE.com", "t1", SM_ASK_YES, "hit"},
        {"Ann@other.example", "t1", SM_ASK_YES, "hit"},
        {"ann@other.example", "t1", SM_ASK_NO, "hit"}, /* local parts are case-sensitive */
        {"other.example", "t1", SM_ASK_NO, "hit"},
        {"cs", "t1", SM_ASK_NO, "hit"}, /* a configuration set is not an identity */
        {"example.com", "missing", SM_ASK_NO, "miss"},
        {"example.com", "missing", SM_ASK_NO, "hit"},
    };
    sm_ask_attrs at;
    inst in;
    long before = sestest_api_count("ListTenantResources");

    (void)state;
    sestest_env_static();
    assert_int_equal(sestest_inst_open(&in, 1,
                                       BASE_CONF "tenants = true; rate = 50; burst = 50; "
                                                 "warmup_interval = 0;",
                                       sestest_port),
                     0);
    for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
        sm_ask_answer a = ask(&in, SM_ASK_TENANT_IDENTITY, t[i].identity, t[i].tenant, 3000, &at);
        if (a != t[i].want || strcmp(at.origin, t[i].origin) != 0)
            fail_msg("%zu %s/%s: answer %d origin %s (%s)", i, t[i].identity, t[i].tenant, a,
                     at.origin, at.detail);
    }
    assert_int_equal(sestest_api_count("ListTenantResources") - before, 2);
    sestest_inst_close(&in);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_ses_suppression_reasons_404_and_cache,
                                        sestest_setup_test, sestest_teardown_test),
        cmocka_unit_test_setup_teardown(
            test_ses_suppression_single_flight_one_call_for_concurrent_lookups, sestest_setup_test,
            sestest_teardown_test),
        cmocka_unit_test_setup_teardown(test_ses_suppression_failure_tempfails_and_is_not_cached,
                                        sestest_setup_test, sestest_teardown_test),
        cmocka_unit_test_setup_teardown(test_ses_suppression_calls_keep_the_instance_rate_limit,
                                        sestest_setup_test, sestest_teardown_test),
        cmocka_unit_test_setup_teardown(test_ses_questions_off_answer_unknown_without_a_call,
                                        sestest_setup_test, sestest_teardown_test),
        cmocka_unit_test_setup_teardown(test_ses_tenant_identity_by_arn, sestest_setup_test,
                                        sestest_teardown_test),
    };
    int rc;

    sestest_fixture = account_fixture;
    if ((sestest_plugin = sestest_load_plugin()) == NULL)
        return 1;
    rc = cmocka_run_group_tests(tests, sestest_setup_group, sestest_teardown_group);
    sestest_unload();
    return rc;
}
