/*
 * test_cache.c - the shared identity cache
 *
 * An in-process stub source (scripted answer, delay, call counter) and an
 * injected clock drive TTL expiry, negative TTL, attrs.ttl override, LRU
 * eviction, single-flight (8 threads, one source call), stale-if-error
 * inside and beyond stale_max (with the source's failure reason), a
 * waiter's deadline, and a bulk put that keeps the details already known.
 */
#include "config.h"

#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <sched.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "identity/cache.h"
#include "lib/util.h"

typedef struct stub {
    sm_id_answer answer;
    unsigned ttl;
    long delay_ms;
    unsigned long calls;
} stub;

static uint64_t fake_now;

static uint64_t
fake_clock(void *arg)
{
    (void)arg;
    return __atomic_load_n(&fake_now, __ATOMIC_SEQ_CST);
}

static sm_id_answer
stub_fetch(void *arg, const char *identity, sm_id_kind kind, uint64_t deadline_ms,
           sm_id_attrs *attrs)
{
    stub *s = arg;

    (void)kind;
    (void)deadline_ms;
    __atomic_add_fetch(&s->calls, 1, __ATOMIC_SEQ_CST);
    if (s->delay_ms > 0) {
        struct timespec ts = {s->delay_ms / 1000, (s->delay_ms % 1000) * 1000000L};
        nanosleep(&ts, NULL);
    }
    util_strlcpy(attrs->identity, identity, sizeof(attrs->identity));
    util_strlcpy(attrs->region, "eu-west-1", sizeof(attrs->region));
    attrs->ttl = s->ttl;
    return s->answer;
}

static cache *
new_cache(long max_entries)
{
    cache_opts o;
    cache *c;

    cache_opts_default(&o);
    o.max_entries = max_entries;
    c = cache_new(&o);
    fake_now = 1000000;
    cache_set_clock(c, fake_clock, NULL);
    return c;
}

static sm_id_answer
ask(cache *c, stub *s, const char *id, cache_answer *out)
{
    return cache_lookup(c, "inst", id, SM_IDKIND_ADDRESS, util_now_ms() + 2000, stub_fetch, s, out);
}

static void
test_cache_ttl_expiry_per_answer_kind(void **state)
{
    static const struct {
        const char *what;
        sm_id_answer answer;
        unsigned attrs_ttl;
        uint64_t advance_ms;
        int refetch;
    } t[] = {
        {"verified, just before positive_ttl", SM_ID_VERIFIED, 0, 299999, 0},
        {"verified, at positive_ttl", SM_ID_VERIFIED, 0, 300000, 1},
        {"not verified, before negative_ttl", SM_ID_NOT_VERIFIED, 0, 59999, 0},
        {"not verified, at negative_ttl", SM_ID_NOT_VERIFIED, 0, 60000, 1},
        {"unknown, at negative_ttl", SM_ID_UNKNOWN, 0, 60000, 1},
        {"unknown, before negative_ttl", SM_ID_UNKNOWN, 0, 1000, 0},
        {"attrs.ttl 5 overrides positive_ttl", SM_ID_VERIFIED, 5, 5000, 1},
        {"attrs.ttl 900 overrides negative_ttl", SM_ID_NOT_VERIFIED, 900, 600000, 0},
    };
    (void)state;
    for (size_t i = 0; i < SM_ARRAY_LEN(t); i++) {
        cache *c = new_cache(100);
        stub s = {t[i].answer, t[i].attrs_ttl, 0, 0};
        cache_answer a;

        assert_int_equal(ask(c, &s, "u@example.com", &a), t[i].answer);
        assert_int_equal(a.origin, CACHE_MISS);
        assert_int_equal(ask(c, &s, "u@example.com", &a), t[i].answer);
        assert_int_equal(a.origin, CACHE_HIT);
        fake_now += t[i].advance_ms;
        ask(c, &s, "u@example.com", &a);
        if (s.calls != 1u + (unsigned)t[i].refetch)
            fail_msg("%s: source called %lu times", t[i].what, s.calls);
        if (!t[i].refetch)
            assert_int_equal(a.age_ms, t[i].advance_ms);
        cache_free(c);
    }
}

static void
test_cache_tempfail_is_not_stored(void **state)
{
    cache *c = new_cache(100);
    stub s = {SM_ID_TEMPFAIL, 0, 0, 0};
    cache_answer a;
    cache_stats st;

    (void)state;
    assert_int_equal(ask(c, &s, "u@example.com", &a), SM_ID_TEMPFAIL);
    assert_int_equal(ask(c, &s, "u@example.com", &a), SM_ID_TEMPFAIL);
    assert_int_equal(s.calls, 2);
    s.answer = SM_ID_VERIFIED;
    assert_int_equal(ask(c, &s, "u@example.com", &a), SM_ID_VERIFIED);
    cache_get_stats(c, &st);
    assert_int_equal(st.tempfails, 2);
    assert_int_equal(st.misses, 3);
    cache_free(c);
}

static void
test_cache_lru_bound_evicts_least_recently_used(void **state)
{
    cache *c = new_cache(3);
    stub s = {SM_ID_VERIFIED, 0, 0, 0};
    cache_answer a;
    cache_stats st;

    (void)state;
    ask(c, &s, "a@x.example", &a);
    ask(c, &s, "b@x.example", &a);
    ask(c, &s, "c@x.example", &a);
    ask(c, &s, "a@x.example", &a); /* a is now the most recent */
    assert_int_equal(a.origin, CACHE_HIT);
    ask(c, &s, "d@x.example", &a); /* evicts b */
    cache_get_stats(c, &st);
    assert_int_equal(st.entries, 3);
    assert_int_equal(st.evictions, 1);
    ask(c, &s, "a@x.example", &a);
    assert_int_equal(a.origin, CACHE_HIT);
    ask(c, &s, "c@x.example", &a);
    assert_int_equal(a.origin, CACHE_HIT);
    ask(c, &s, "b@x.example", &a);
    assert_int_equal(a.origin, CACHE_MISS);
    cache_free(c);
}

static void
test_cache_key_includes_instance_and_kind(void **state)
{
    cache *c = new_cache(100);
    stub s = {SM_ID_VERIFIED, 0, 0, 0};
    cache_answer a;
    uint64_t dl = util_now_ms() + 1000;

    (void)state;
    cache_lookup(c, "one", "example.com", SM_IDKIND_DOMAIN, dl, stub_fetch, &s, &a);
    cache_lookup(c, "two", "example.com", SM_IDKIND_DOMAIN, dl, stub_fetch, &s, &a);
    assert_int_equal(a.origin, CACHE_MISS);
    cache_lookup(c, "one", "example.com", SM_IDKIND_ADDRESS, dl, stub_fetch, &s, &a);
    assert_int_equal(a.origin, CACHE_MISS);
    cache_lookup(c, "one", "Example.com", SM_IDKIND_DOMAIN, dl, stub_fetch, &s, &a);
    assert_int_equal(a.origin, CACHE_MISS); /* keys are exact: callers normalise */
    cache_lookup(c, "one", "example.com", SM_IDKIND_DOMAIN, dl, stub_fetch, &s, &a);
    assert_int_equal(a.origin, CACHE_HIT);
    assert_int_equal(s.calls, 4);
    {
        char longid[700]; /* longer than the on-stack key buffer */
        memset(longid, 'l', sizeof(longid) - 1);
        longid[sizeof(longid) - 1] = '\0';
        cache_lookup(c, "one", longid, SM_IDKIND_DOMAIN, dl, stub_fetch, &s, &a);
        assert_int_equal(a.origin, CACHE_MISS);
        cache_lookup(c, "one", longid, SM_IDKIND_DOMAIN, dl, stub_fetch, &s, &a);
        assert_int_equal(a.origin, CACHE_HIT);
    }
    cache_free(c);
}

typedef struct flight {
    cache *c;
    stub *s;
    uint64_t deadline;
    cache_answer a;
} flight;

static void *
flight_run(void *arg)
{
    flight *f = arg;

    cache_lookup(f->c, "inst", "same@example.com", SM_IDKIND_ADDRESS, f->deadline, stub_fetch, f->s,
                 &f->a);
    return NULL;
}

static void
test_cache_single_flight_eight_threads_one_source_call(void **state)
{
    cache *c = new_cache(100);
    stub s = {SM_ID_VERIFIED, 0, 300, 0};
    pthread_t th[8];
    flight f[8];
    int miss = 0, shared = 0;
    cache_stats st;

    (void)state;
    for (int i = 0; i < 8; i++) {
        f[i] = (flight){c, &s, util_now_ms() + 5000, {0}};
        pthread_create(&th[i], NULL, flight_run, &f[i]);
    }
    for (int i = 0; i < 8; i++)
        pthread_join(th[i], NULL);
    assert_int_equal(s.calls, 1);
    for (int i = 0; i < 8; i++) {
        assert_int_equal(f[i].a.answer, SM_ID_VERIFIED);
        assert_string_equal(f[i].a.attrs.region, "eu-west-1");
        miss += f[i].a.origin == CACHE_MISS;
        shared += f[i].a.origin == CACHE_SHARED || f[i].a.origin == CACHE_HIT;
    }
    assert_int_equal(miss, 1);
    assert_int_equal(shared, 7);
    cache_get_stats(c, &st);
    assert_int_equal(st.misses, 1);
    assert_true(st.waits >= 1); /* threads that arrived after the lookup finished hit */
    cache_free(c);
}

static void
test_cache_stale_if_error_within_and_beyond_stale_max(void **state)
{
    static const struct {
        uint64_t advance_ms;
        sm_id_answer expect;
        cache_origin origin;
    } t[] = {
        {301000, SM_ID_VERIFIED, CACHE_STALE},  /* expired, 301 s old */
        {3600000, SM_ID_VERIFIED, CACHE_STALE}, /* exactly stale_max */
        {3600001, SM_ID_TEMPFAIL, CACHE_MISS},  /* beyond stale_max */
    };
    (void)state;
    for (size_t i = 0; i < SM_ARRAY_LEN(t); i++) {
        cache *c = new_cache(100);
        stub s = {SM_ID_VERIFIED, 0, 0, 0};
        cache_answer a;
        cache_stats st;

        ask(c, &s, "u@example.com", &a);
        s.answer = SM_ID_TEMPFAIL;
        fake_now += t[i].advance_ms;
        assert_int_equal(ask(c, &s, "u@example.com", &a), t[i].expect);
        assert_int_equal(a.origin, t[i].origin);
        assert_int_equal(s.calls, 2);
        cache_get_stats(c, &st);
        assert_int_equal(st.stale, t[i].origin == CACHE_STALE);
        if (t[i].origin == CACHE_STALE) {
            assert_int_equal(a.age_ms, t[i].advance_ms);
            assert_string_equal(a.attrs.region, "eu-west-1");
            assert_true(a.stored_wall_ms > 0);
        }
        cache_free(c);
    }
}

static void
test_cache_waiter_deadline_gives_tempfail_or_stale(void **state)
{
    for (int with_stale = 0; with_stale < 2; with_stale++) {
        cache *c = new_cache(100);
        stub s = {SM_ID_VERIFIED, 0, 0, 0};
        pthread_t th;
        flight leader;
        cache_answer a;
        uint64_t t0;

        (void)state;
        if (with_stale) {
            ask(c, &s, "same@example.com", &a);
            fake_now += 400000; /* expired, within stale_max */
        }
        s.delay_ms = 600;
        leader = (flight){c, &s, util_now_ms() + 5000, {0}};
        pthread_create(&th, NULL, flight_run, &leader);
        while (__atomic_load_n(&s.calls, __ATOMIC_SEQ_CST) < (unsigned long)(1 + with_stale))
            sched_yield();
        t0 = util_now_ms();
        cache_lookup(c, "inst", "same@example.com", SM_IDKIND_ADDRESS, t0 + 50, stub_fetch, &s, &a);
        assert_true(util_now_ms() - t0 < 400); /* did not wait for the slow source */
        assert_true(util_now_ms() - t0 >= 45);
        if (with_stale) {
            assert_int_equal(a.answer, SM_ID_VERIFIED);
            assert_int_equal(a.origin, CACHE_STALE);
        } else {
            assert_int_equal(a.answer, SM_ID_TEMPFAIL);
        }
        pthread_join(th, NULL);
        assert_int_equal(leader.a.answer, SM_ID_VERIFIED);
        assert_int_equal(s.calls, 1 + with_stale);
        cache_free(c);
    }
}

static void
test_cache_put_inserts_and_refreshes(void **state)
{
    cache *c = new_cache(100);
    stub s = {SM_ID_NOT_VERIFIED, 0, 0, 0};
    sm_id_attrs at;
    cache_answer a;
    cache_stats st;

    (void)state;
    memset(&at, 'x', sizeof(at)); /* unterminated strings from a careless plugin */
    at.size = sizeof(at);
    at.ttl = 0;
    cache_put(c, "inst", "u@example.com", SM_IDKIND_ADDRESS, SM_ID_VERIFIED, &at);
    cache_put(c, "inst", "t@example.com", SM_IDKIND_ADDRESS, SM_ID_TEMPFAIL, &at);
    assert_int_equal(ask(c, &s, "u@example.com", &a), SM_ID_VERIFIED);
    assert_int_equal(a.origin, CACHE_HIT);
    assert_int_equal(strlen(a.attrs.detail), sizeof(a.attrs.detail) - 1);
    assert_int_equal(ask(c, &s, "t@example.com", &a), SM_ID_NOT_VERIFIED);
    assert_int_equal(a.origin, CACHE_MISS);
    fake_now += 200000;
    cache_put(c, "inst", "u@example.com", SM_IDKIND_ADDRESS, SM_ID_VERIFIED, NULL);
    fake_now += 200000; /* 400 s after the first put, 200 s after the refresh */
    assert_int_equal(ask(c, &s, "u@example.com", &a), SM_ID_VERIFIED);
    assert_int_equal(a.origin, CACHE_HIT);
    assert_int_equal(s.calls, 1);
    cache_get_stats(c, &st);
    assert_int_equal(st.puts, 2);
    cache_flush(c);
    cache_get_stats(c, &st);
    assert_int_equal(st.entries, 0);
    cache_free(c);
}

/* details_attrs - a GetEmailIdentity-like answer with DKIM and MAIL FROM settings */
static void
details_attrs(sm_id_attrs *at, int with_details)
{
    memset(at, 0, sizeof(*at));
    at->size = sizeof(*at);
    at->dkim_signing_enabled = SM_TRI_UNKNOWN;
    util_strlcpy(at->identity, "example.com", sizeof(at->identity));
    util_strlcpy(at->detail, with_details ? "GetEmailIdentity" : "from ListEmailIdentities",
                 sizeof(at->detail));
    if (with_details) {
        at->dkim_signing_enabled = 1;
        util_strlcpy(at->dkim_status, "SUCCESS", sizeof(at->dkim_status));
        util_strlcpy(at->mail_from_domain, "bounce.example.com", sizeof(at->mail_from_domain));
        util_strlcpy(at->mail_from_status, "SUCCESS", sizeof(at->mail_from_status));
    }
}

/*
 * A bulk warm-up answer (no DKIM / MAIL FROM details) refreshes an entry but keeps
 * the details a detailed answer stored for the same identity and answer; a changed
 * answer, or details older than stale_max, are not carried over.
 */
static void
test_cache_put_without_details_keeps_known_details(void **state)
{
    static const struct {
        const char *what;
        sm_id_answer second;
        uint64_t advance_ms;
        int kept;
    } t[] = {
        {"same answer: kept", SM_ID_VERIFIED, 10000, 1},
        {"answer changed: dropped", SM_ID_NOT_VERIFIED, 10000, 0},
        {"details older than stale_max: dropped", SM_ID_VERIFIED, 3600001, 0},
    };

    (void)state;
    for (size_t i = 0; i < SM_ARRAY_LEN(t); i++) {
        cache *c = new_cache(100);
        stub s = {SM_ID_TEMPFAIL, 0, 0, 0};
        sm_id_attrs at;
        cache_answer a;

        details_attrs(&at, 1);
        cache_put(c, "inst", "example.com", SM_IDKIND_DOMAIN, SM_ID_VERIFIED, &at);
        fake_now += t[i].advance_ms;
        details_attrs(&at, 0);
        cache_put(c, "inst", "example.com", SM_IDKIND_DOMAIN, t[i].second, &at);
        cache_lookup(c, "inst", "example.com", SM_IDKIND_DOMAIN, util_now_ms() + 100, stub_fetch,
                     &s, &a);
        print_message("%s: dkim=%d status=%s mail_from=%s\n", t[i].what,
                      a.attrs.dkim_signing_enabled, a.attrs.dkim_status, a.attrs.mail_from_domain);
        assert_int_equal(a.origin, CACHE_HIT);
        assert_int_equal(a.answer, t[i].second);
        assert_string_equal(a.attrs.detail, "from ListEmailIdentities");
        assert_int_equal(a.attrs.dkim_signing_enabled, t[i].kept ? 1 : SM_TRI_UNKNOWN);
        assert_string_equal(a.attrs.dkim_status, t[i].kept ? "SUCCESS" : "");
        assert_string_equal(a.attrs.mail_from_domain, t[i].kept ? "bounce.example.com" : "");
        assert_string_equal(a.attrs.mail_from_status, t[i].kept ? "SUCCESS" : "");
        assert_int_equal(s.calls, 0);
        cache_free(c);
    }
}

/* a stale answer says why the source failed this time */
static void
test_cache_stale_answer_carries_the_failure_reason(void **state)
{
    cache *c = new_cache(100);
    stub s = {SM_ID_VERIFIED, 0, 0, 0};
    cache_answer a;

    (void)state;
    ask(c, &s, "u@example.com", &a);
    assert_string_equal(a.why, "");
    s.answer = SM_ID_TEMPFAIL;
    fake_now += 400000;
    assert_int_equal(ask(c, &s, "u@example.com", &a), SM_ID_VERIFIED);
    assert_int_equal(a.origin, CACHE_STALE);
    /* the stub fills attrs.region only; its detail is empty: a generic reason */
    assert_string_equal(a.why, "the source could not answer");
    cache_free(c);
}

static void
test_cache_large_bound_uses_shards_and_stays_bounded(void **state)
{
    cache *c = new_cache(5000);
    stub s = {SM_ID_VERIFIED, 0, 0, 0};
    cache_answer a;
    cache_stats st;
    char id[64];

    (void)state;
    for (int i = 0; i < 20000; i++) {
        snprintf(id, sizeof(id), "user%d@example.com", i);
        ask(c, &s, id, &a);
    }
    cache_get_stats(c, &st);
    assert_true(st.entries <= 5000 + 16);
    assert_true(st.entries >= 4000);
    assert_int_equal(st.evictions + st.entries, 20000);
    cache_free(c);
}

/* a reload keeps the cache but asks every source again: the new answer wins when the
 * source answers, the old one is served stale when it cannot */
static void
test_cache_revalidate_asks_again_and_keeps_stale_fallback(void **state)
{
    static const struct {
        const char *what;
        sm_id_answer now_says;
        sm_id_answer want;
        cache_origin origin;
    } t[] = {
        {"source changed its answer: the new one", SM_ID_NOT_VERIFIED, SM_ID_NOT_VERIFIED,
         CACHE_MISS},
        {"source answers the same: a fresh lookup", SM_ID_VERIFIED, SM_ID_VERIFIED, CACHE_MISS},
        {"source fails: the old answer, stale", SM_ID_TEMPFAIL, SM_ID_VERIFIED, CACHE_STALE},
    };

    (void)state;
    for (size_t i = 0; i < SM_ARRAY_LEN(t); i++) {
        cache *c = new_cache(100);
        stub s = {SM_ID_VERIFIED, 0, 0, 0};
        cache_answer a;

        assert_int_equal(ask(c, &s, "u@example.com", &a), SM_ID_VERIFIED);
        assert_int_equal(ask(c, &s, "u@example.com", &a), SM_ID_VERIFIED);
        assert_int_equal(a.origin, CACHE_HIT);
        cache_revalidate(c);
        s.answer = t[i].now_says;
        print_message("%s\n", t[i].what);
        assert_int_equal(ask(c, &s, "u@example.com", &a), t[i].want);
        assert_int_equal(a.origin, t[i].origin);
        assert_int_equal(s.calls, 2);
        cache_free(c);
    }
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cache_ttl_expiry_per_answer_kind),
        cmocka_unit_test(test_cache_tempfail_is_not_stored),
        cmocka_unit_test(test_cache_lru_bound_evicts_least_recently_used),
        cmocka_unit_test(test_cache_key_includes_instance_and_kind),
        cmocka_unit_test(test_cache_single_flight_eight_threads_one_source_call),
        cmocka_unit_test(test_cache_stale_if_error_within_and_beyond_stale_max),
        cmocka_unit_test(test_cache_waiter_deadline_gives_tempfail_or_stale),
        cmocka_unit_test(test_cache_put_inserts_and_refreshes),
        cmocka_unit_test(test_cache_put_without_details_keeps_known_details),
        cmocka_unit_test(test_cache_stale_answer_carries_the_failure_reason),
        cmocka_unit_test(test_cache_revalidate_asks_again_and_keeps_stale_fallback),
        cmocka_unit_test(test_cache_large_bound_uses_shards_and_stays_bounded),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
