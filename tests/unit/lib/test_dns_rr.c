/*
 * test_dns_rr.c - records of any type (SPF's A, AAAA, MX, PTR): cached like TXT, parsed from the
 * wire
 *
 * dns_lookup_rr() over a canned typed resolver and a test clock: a table of
 * (name, type, answer, TTL) and the seconds after the first lookup at which
 * the resolver is or is not asked again (positive answers, NXDOMAIN and
 * NODATA until their TTL, a temporary failure never; a type's entry apart
 * from the same name's TXT entry).  The observer sees each lookup as the
 * metrics counters do.  dns_res_parse() is fed hand-built answers of each
 * type, names compressed.
 */
#include "config.h"

#include <arpa/inet.h>
#include <arpa/nameser.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "lib/dns.h"
#include "lib/dns_res.h"
#include "lib/util.h"

typedef struct canned {
    const char *name;
    int type;
    dns_status status;
    uint32_t ttl;
    int calls;
} canned;

static canned answers[] = {
    {"host.example", ns_t_a, DNS_OK, 600, 0},      {"host.example", ns_t_txt, DNS_OK, 600, 0},
    {"mx.example", ns_t_mx, DNS_OK, 45, 0},        {"nx.example", ns_t_aaaa, DNS_NXDOMAIN, 120, 0},
    {"nodata.example", ns_t_a, DNS_NODATA, 60, 0}, {"temp.example", ns_t_ptr, DNS_TEMPFAIL, 0, 0},
};

static uint64_t now_ms = 1000000;
static int obs_cached, obs_sent, obs_failed;

static canned *
find(const char *name, int type)
{
    for (size_t i = 0; i < SM_ARRAY_LEN(answers); i++)
        if (strcmp(answers[i].name, name) == 0 && answers[i].type == type)
            return &answers[i];
    return NULL;
}

static dns_status
fake_typed(void *arg SM_UNUSED, const char *name, int qtype, uint64_t deadline_ms SM_UNUSED,
           dns_txt **rr_r, uint32_t *ttl_r)
{
    canned *a = find(name, qtype);

    if (a == NULL)
        return DNS_NXDOMAIN;
    a->calls++;
    *ttl_r = a->ttl;
    if (a->status == DNS_OK) {
        *rr_r = dns_txt_new();
        dns_txt_add(*rr_r, qtype == ns_t_a ? "\xc0\x00\x02\x01" : "mail.example",
                    qtype == ns_t_a ? 4 : 12);
    }
    return a->status;
}

static dns_status
fake_txt(void *arg, const char *name, uint64_t deadline_ms, dns_txt **txt_r, uint32_t *ttl_r)
{
    return fake_typed(arg, name, ns_t_txt, deadline_ms, txt_r, ttl_r);
}

static uint64_t
fake_clock(void *arg SM_UNUSED)
{
    return now_ms;
}

static void
observe(int cached, int failed)
{
    obs_cached += cached;
    obs_sent += !cached;
    obs_failed += failed;
}

static void
test_dns_rr_answers_cached_by_type_until_ttl(void **state SM_UNUSED)
{
    static const struct {
        const char *name;
        int type;
        long after_s;
        int asked_again;
    } cases[] = {
        {"host.example", ns_t_a, 599, 0}, /* positive: its TTL */
        {"host.example", ns_t_a, 601, 1},
        {"mx.example", ns_t_mx, 44, 0}, /* TTL 45, above min_ttl 30: kept */
        {"mx.example", ns_t_mx, 46, 1},
        {"nx.example", ns_t_aaaa, 119, 0}, /* NXDOMAIN: the SOA's TTL */
        {"nx.example", ns_t_aaaa, 121, 1},
        {"nodata.example", ns_t_a, 59, 0}, /* NODATA likewise */
        {"nodata.example", ns_t_a, 61, 1},
        {"temp.example", ns_t_ptr, 0, 1}, /* a temporary failure: never cached */
    };

    dns_set_observer(observe);
    for (size_t i = 0; i < SM_ARRAY_LEN(cases); i++) {
        dns_cache *c = dns_cache_new(NULL);
        canned *a = find(cases[i].name, cases[i].type);
        int sent0 = obs_sent, cached0 = obs_cached;
        dns_status first, again;
        dns_txt *t = NULL;
        char err[256];

        dns_cache_set_resolver(c, fake_txt, NULL);
        dns_cache_set_rr_resolver(c, fake_typed, NULL);
        dns_cache_set_clock(c, fake_clock, NULL);
        a->calls = 0;
        first = dns_lookup_rr(c, cases[i].name, cases[i].type, 0, &t, err, sizeof(err));
        assert_int_equal(first, a->status);
        assert_true((first == DNS_OK) == (t != NULL));
        dns_txt_free(t);
        t = NULL;
        now_ms += (uint64_t)cases[i].after_s * 1000;
        again = dns_lookup_rr(c, cases[i].name, cases[i].type, 0, &t, err, sizeof(err));
        assert_int_equal(again, first);
        dns_txt_free(t);
        if (a->calls != 1 + cases[i].asked_again)
            fail_msg("case %zu (%s type %d after %lds): asked %d times", i, cases[i].name,
                     cases[i].type, cases[i].after_s, a->calls);
        /* the observer: every lookup, cached or sent */
        assert_int_equal(obs_sent - sent0, a->calls);
        assert_int_equal(obs_cached - cached0, 2 - a->calls);
        dns_cache_free(c);
    }
    dns_set_observer(NULL);
}

static void
test_dns_rr_type_entries_are_apart_from_txt(void **state SM_UNUSED)
{
    dns_cache *c = dns_cache_new(NULL);
    dns_txt *t = NULL;
    char err[256];

    dns_cache_set_resolver(c, fake_txt, NULL);
    dns_cache_set_rr_resolver(c, fake_typed, NULL);
    find("host.example", ns_t_a)->calls = 0;
    find("host.example", ns_t_txt)->calls = 0;
    assert_int_equal(dns_lookup_rr(c, "Host.Example.", ns_t_a, 0, &t, err, sizeof(err)), DNS_OK);
    assert_int_equal(t->len[0], 4);
    assert_memory_equal(t->rr[0], "\xc0\x00\x02\x01", 4);
    t = dns_txt_free(t);
    assert_int_equal(dns_lookup_txt(c, "host.example", 0, &t, err, sizeof(err)), DNS_OK);
    assert_string_equal(t->rr[0], "mail.example");
    t = dns_txt_free(t);
    assert_int_equal(dns_lookup_rr(c, "host.example", ns_t_txt, 0, &t, err, sizeof(err)), DNS_OK);
    t = dns_txt_free(t);
    assert_int_equal(find("host.example", ns_t_a)->calls, 1);
    assert_int_equal(find("host.example", ns_t_txt)->calls, 1); /* ns_t_txt is the TXT entry */
    /* a test's TXT resolver alone answers no other type */
    dns_cache_set_resolver(c, fake_txt, NULL);
    assert_int_equal(dns_lookup_rr(c, "mx.example", ns_t_mx, 0, &t, err, sizeof(err)),
                     DNS_TEMPFAIL);
    dns_cache_free(c);
}

/* ---- wire ---- */

typedef struct wire {
    unsigned char b[1024];
    size_t n;
} wire;

static void
put16(wire *w, unsigned v)
{
    w->b[w->n++] = (unsigned char)(v >> 8);
    w->b[w->n++] = (unsigned char)(v & 0xff);
}

static void
putraw(wire *w, const void *p, size_t len)
{
    memcpy(w->b + w->n, p, len);
    w->n += len;
}

/* an answer to the question q.example of type with one record of rdata */
static void
answer(wire *w, int type, const void *rdata, size_t rdlen)
{
    w->n = 0;
    put16(w, 0x1234);
    put16(w, 0x8180);
    put16(w, 1);
    put16(w, 1);
    put16(w, 0);
    put16(w, 0);
    putraw(w,
           "\x01q\x07"
           "example\x00",
           11);
    put16(w, (unsigned)type);
    put16(w, 1);
    put16(w, 0xc00c);
    put16(w, (unsigned)type);
    put16(w, 1);
    put16(w, 0);
    put16(w, 300);
    put16(w, (unsigned)rdlen);
    putraw(w, rdata, rdlen);
}

static void
test_dns_rr_wire_records_of_each_type(void **state SM_UNUSED)
{
    static const struct {
        int type;
        const char *rdata;
        size_t rdlen;
        dns_status want;
        const char *rec; /* NULL: the 4/16 address bytes of rdata */
    } cases[] = {
        {ns_t_a, "\xc0\x00\x02\x01", 4, DNS_OK, NULL},
        {ns_t_aaaa, "\x20\x01\x0d\xb8\0\0\0\0\0\0\0\0\0\0\0\x01", 16, DNS_OK, NULL},
        {ns_t_a, "\xc0\x00\x02", 3, DNS_NODATA, NULL},                  /* short A: skipped */
        {ns_t_mx, "\x00\x0a\x02mx\xc0\x0c", 7, DNS_OK, "mx.q.example"}, /* compressed */
        {ns_t_ptr,
         "\x04host\x07"
         "example\x00",
         14, DNS_OK, "host.example"},
        {ns_t_mx, "\x00\x0a\x05mx", 5, DNS_NODATA, NULL}, /* a name past its rdata */
    };

    for (size_t i = 0; i < SM_ARRAY_LEN(cases); i++) {
        dns_txt *t = NULL;
        uint32_t ttl = 0;
        wire w;
        dns_status st;

        answer(&w, cases[i].type, cases[i].rdata, cases[i].rdlen);
        st = dns_res_parse(w.b, w.n, cases[i].type, &t, &ttl);
        if (st != cases[i].want)
            fail_msg("case %zu: %s", i, dns_status_name(st));
        if (st == DNS_OK) {
            assert_int_equal(t->n, 1);
            assert_int_equal(ttl, 300);
            if (cases[i].rec != NULL) {
                assert_string_equal(t->rr[0], cases[i].rec);
            } else {
                assert_int_equal(t->len[0], cases[i].rdlen);
                assert_memory_equal(t->rr[0], cases[i].rdata, cases[i].rdlen);
            }
        }
        dns_txt_free(t);
        /* presence only: a record of the type counts, even one that does not decode */
        assert_int_equal(dns_res_parse(w.b, w.n, cases[i].type, NULL, &ttl), DNS_OK);
    }
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_dns_rr_answers_cached_by_type_until_ttl),
        cmocka_unit_test(test_dns_rr_type_entries_are_apart_from_txt),
        cmocka_unit_test(test_dns_rr_wire_records_of_each_type),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
