/*
 * test_spf_dns.c - SPF over lib/dns.c: one resolver layer, its cache, its counters, the deadline
 *
 * spf_ctx_new_cache() puts the adapter on lib/dns.c (spf_dns_lib_new).  A
 * table of checks runs over a dns_cache whose TXT and typed resolvers are a
 * canned zone that counts the queries it answers: each check's result, the
 * queries the first check sends, and those a second identical check sends
 * (none: positive and negative answers are cached; a temporary failure is
 * asked again).  The process's DNS observer sees every one of them, as the
 * metrics counters do.  Then a silent server (a UDP socket nobody reads):
 * the check is temperror by the deadline given, not after the resolver's
 * own 10 s timeout.
 */
#include <netinet/in.h>
#include <arpa/inet.h>
#include <arpa/nameser.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "auth/spf.h"
#include "lib/dns.h"
#include "lib/util.h"

/* the canned zone: name, type, status, records (A: dotted quad; others: text) */
typedef struct zone_rr {
    const char *name;
    int type;
    dns_status status;
    const char *rec;
} zone_rr;

static const zone_rr zone[] = {
    {"pass.example", ns_t_txt, DNS_OK, "v=spf1 mx a:out.pass.example -all"},
    {"pass.example", ns_t_mx, DNS_OK, "mx.pass.example"},
    {"mx.pass.example", ns_t_a, DNS_OK, "198.51.100.9"},
    {"out.pass.example", ns_t_a, DNS_OK, "192.0.2.1"},
    {"soft.example", ns_t_txt, DNS_OK, "v=spf1 a ~all"},
    {"soft.example", ns_t_a, DNS_NODATA, NULL},
    {"inc.example", ns_t_txt, DNS_OK, "v=spf1 include:gone.example -all"},
    {"gone.example", ns_t_txt, DNS_NXDOMAIN, NULL},
    {"temp.example", ns_t_txt, DNS_TEMPFAIL, NULL},
};

static int zone_queries;           /* answered by the zone */
static int seen_cached, seen_sent; /* reported to the observer */

static dns_status
zone_answer(const char *name, int type, dns_txt **rr_r, uint32_t *ttl_r)
{
    zone_queries++;
    *ttl_r = 300;
    for (size_t i = 0; i < SM_ARRAY_LEN(zone); i++) {
        struct in_addr a;
        if (strcmp(zone[i].name, name) != 0 || zone[i].type != type)
            continue;
        if (zone[i].status != DNS_OK)
            return zone[i].status;
        *rr_r = dns_txt_new();
        if (type == ns_t_a && inet_pton(AF_INET, zone[i].rec, &a) == 1)
            dns_txt_add(*rr_r, (const char *)&a, sizeof(a));
        else
            dns_txt_add(*rr_r, zone[i].rec, strlen(zone[i].rec));
        return DNS_OK;
    }
    for (size_t i = 0; i < SM_ARRAY_LEN(zone); i++)
        if (strcmp(zone[i].name, name) == 0)
            return DNS_NODATA;
    return DNS_NXDOMAIN;
}

static dns_status
zone_txt(void *arg SM_UNUSED, const char *name, uint64_t deadline_ms SM_UNUSED, dns_txt **txt_r,
         uint32_t *ttl_r)
{
    return zone_answer(name, ns_t_txt, txt_r, ttl_r);
}

static dns_status
zone_typed(void *arg SM_UNUSED, const char *name, int qtype, uint64_t deadline_ms SM_UNUSED,
           dns_txt **rr_r, uint32_t *ttl_r)
{
    return zone_answer(name, qtype, rr_r, ttl_r);
}

static void
observe(int cached, int failed SM_UNUSED)
{
    if (cached)
        seen_cached++;
    else
        seen_sent++;
}

static void
test_spf_dns_queries_go_through_the_dns_cache_and_are_counted(void **state SM_UNUSED)
{
    static const struct {
        const char *domain;
        spf_result want;
        int first, again; /* queries the zone answers: first check, the same check again */
    } cases[] = {
        /* TXT, MX, A of the MX host, A of out.pass.example */
        {"pass.example", SPF_R_PASS, 4, 0},
        /* TXT, A (no data: a void lookup, cached as well) */
        {"soft.example", SPF_R_SOFTFAIL, 2, 0},
        /* TXT, TXT of the included name (NXDOMAIN, cached) */
        {"inc.example", SPF_R_PERMERROR, 2, 0},
        /* a name that does not exist: no record */
        {"absent.example", SPF_R_NONE, 1, 0},
        /* a temporary failure is never cached: asked again */
        {"temp.example", SPF_R_TEMPERROR, 1, 1},
    };
    char err[256] = "";
    dns_cache *dns = dns_cache_new(NULL);
    spf_ctx *ctx;

    dns_cache_set_resolver(dns, zone_txt, NULL);
    dns_cache_set_rr_resolver(dns, zone_typed, NULL);
    ctx = spf_ctx_new_cache(NULL, dns, err, sizeof(err));
    assert_non_null(ctx);
    dns_set_observer(observe);
    for (size_t i = 0; i < SM_ARRAY_LEN(cases); i++) {
        spf_detail d;
        int q0 = zone_queries, c0 = seen_cached, s0 = seen_sent;
        spf_result r = spf_check(ctx, "192.0.2.1", cases[i].domain, NULL, NULL, 0, &d);

        if (r != cases[i].want || zone_queries - q0 != cases[i].first)
            fail_msg("%s: %s (%s), %d queries, want %s and %d", cases[i].domain, spf_result_name(r),
                     d.reason, zone_queries - q0, spf_result_name(cases[i].want), cases[i].first);
        assert_int_equal(seen_sent - s0, cases[i].first); /* the counters see each one */
        assert_int_equal(seen_cached - c0, 0);
        q0 = zone_queries;
        s0 = seen_sent;
        r = spf_check(ctx, "192.0.2.1", cases[i].domain, NULL, NULL, 0, &d);
        assert_int_equal(r, cases[i].want);
        if (zone_queries - q0 != cases[i].again)
            fail_msg("%s again: %d queries, want %d", cases[i].domain, zone_queries - q0,
                     cases[i].again);
        assert_int_equal(seen_sent - s0, cases[i].again);
        assert_true(seen_cached > c0 || cases[i].again > 0);
    }
    dns_set_observer(NULL);
    spf_ctx_free(ctx);
    dns_cache_free(dns);
}

static void
test_spf_dns_silent_server_is_temperror_by_the_deadline(void **state SM_UNUSED)
{
    struct sockaddr_in sin;
    socklen_t sl = sizeof(sin);
    char err[256] = "";
    dns_opts o;
    dns_cache *dns;
    spf_opts so;
    spf_ctx *ctx;
    spf_detail d;
    uint64_t t0, ms;
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    spf_result r;

    /* a server that never answers: queries queue on a socket nobody reads */
    memset(&sin, 0, sizeof(sin));
    sin.sin_family = AF_INET;
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_true(fd >= 0);
    assert_int_equal(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&sin, &sl), 0);
    dns_opts_defaults(&o);
    o.timeout_ms = 10000; /* the resolver's own bound is far beyond the deadline */
    dns = dns_cache_new(&o);
    assert_int_equal(dns_cache_set_server(dns, "127.0.0.1", ntohs(sin.sin_port)), 0);
    spf_opts_defaults(&so);
    so.timeout_ms = 10000;
    ctx = spf_ctx_new_cache(&so, dns, err, sizeof(err));
    assert_non_null(ctx);
    t0 = util_now_ms();
    r = spf_check(ctx, "192.0.2.1", "silent.example", NULL, NULL, t0 + 1500, &d);
    ms = util_now_ms() - t0;
    if (r != SPF_R_TEMPERROR)
        fail_msg("silent server: %s (%s)", spf_result_name(r), d.reason);
    print_message("silent server: temperror after %llu ms (deadline 1500 ms)\n",
                  (unsigned long long)ms);
    /* by the deadline; the resolver's per-try timeout counts in whole seconds */
    if (ms > 1500 + 1000)
        fail_msg("silent server: %llu ms, the deadline was 1500 ms", (unsigned long long)ms);
    spf_ctx_free(ctx);
    dns_cache_free(dns);
    dns_thread_cleanup();
    close(fd);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_spf_dns_queries_go_through_the_dns_cache_and_are_counted),
        cmocka_unit_test(test_spf_dns_silent_server_is_temperror_by_the_deadline),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
