/*
 * test_dns.c - the TXT cache: TTLs, negative caching, tempfail, LRU, wire parsing
 *
 * The cache runs over an injected resolver (a table of canned answers that
 * counts how often it is asked) and a test clock, so every case is
 * deterministic and needs no network.  dns_parse_answer() is fed
 * hand-built DNS messages.
 */
#include "config.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <sys/socket.h>
#include <unistd.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "lib/dns.h"
#include "lib/util.h"

typedef struct fake_answer {
    const char *name;
    dns_status status;
    const char *rr[3];
    uint32_t ttl;
    int calls;
} fake_answer;

typedef struct fake_dns {
    fake_answer *answers;
    size_t n;
    uint64_t now;
    int total_calls;
} fake_dns;

static dns_status
fake_resolve(void *arg, const char *name, uint64_t deadline_ms SM_UNUSED, dns_txt **txt_r,
             uint32_t *ttl_r)
{
    fake_dns *f = arg;

    f->total_calls++;
    for (size_t i = 0; i < f->n; i++) {
        fake_answer *a = &f->answers[i];
        if (strcmp(a->name, name) != 0)
            continue;
        a->calls++;
        *ttl_r = a->ttl;
        if (a->status == DNS_OK) {
            *txt_r = dns_txt_new();
            for (int k = 0; k < 3 && a->rr[k]; k++)
                dns_txt_add(*txt_r, a->rr[k], strlen(a->rr[k]));
        }
        return a->status;
    }
    return DNS_NXDOMAIN;
}

static uint64_t
fake_clock(void *arg)
{
    return ((fake_dns *)arg)->now;
}

static fake_answer answers_tab[] = {
    {"a.example", DNS_OK, {"v=DMARC1; p=none", NULL, NULL}, 600, 0},
    {"two.example", DNS_OK, {"one", "two", NULL}, 3600, 0},
    {"short.example", DNS_OK, {"x", NULL, NULL}, 1, 0},
    {"long.example", DNS_OK, {"x", NULL, NULL}, 999999, 0},
    {"nx.example", DNS_NXDOMAIN, {NULL, NULL, NULL}, 120, 0},
    {"nosoa.example", DNS_NXDOMAIN, {NULL, NULL, NULL}, 0, 0},
    {"nodata.example", DNS_NODATA, {NULL, NULL, NULL}, 60, 0},
    {"temp.example", DNS_TEMPFAIL, {NULL, NULL, NULL}, 0, 0},
    {"l1.example", DNS_OK, {"1", NULL, NULL}, 600, 0},
    {"l2.example", DNS_OK, {"2", NULL, NULL}, 600, 0},
    {"l3.example", DNS_OK, {"3", NULL, NULL}, 600, 0},
    {"l4.example", DNS_OK, {"4", NULL, NULL}, 600, 0},
};

typedef struct fixture {
    fake_dns fake;
    fake_answer answers[SM_ARRAY_LEN(answers_tab)];
    dns_cache *c;
} fixture;

static fixture *
fixture_new(long max_entries)
{
    fixture *fx = xcalloc(1, sizeof(*fx));
    dns_opts o;

    memcpy(fx->answers, answers_tab, sizeof(answers_tab));
    fx->fake.answers = fx->answers;
    fx->fake.n = SM_ARRAY_LEN(answers_tab);
    fx->fake.now = 1000000;
    dns_opts_defaults(&o);
    o.max_entries = max_entries;
    fx->c = dns_cache_new(&o);
    dns_cache_set_resolver(fx->c, fake_resolve, &fx->fake);
    dns_cache_set_clock(fx->c, fake_clock, &fx->fake);
    return fx;
}

static void
fixture_free(fixture *fx)
{
    dns_cache_free(fx->c);
    free(fx);
}

static dns_status
lookup(fixture *fx, const char *name, dns_txt **txt)
{
    char err[256];
    dns_txt *t = NULL;
    dns_status st = dns_lookup_txt(fx->c, name, 0, &t, err, sizeof(err));

    if (txt != NULL)
        *txt = t;
    else
        dns_txt_free(t);
    return st;
}

static dns_status
lookup_c(dns_cache *c, const char *name)
{
    char err[256];
    dns_txt *t = NULL;
    dns_status st = dns_lookup_txt(c, name, 0, &t, err, sizeof(err));

    dns_txt_free(t);
    return st;
}

static int
calls(fixture *fx, const char *name)
{
    for (size_t i = 0; i < fx->fake.n; i++)
        if (strcmp(fx->answers[i].name, name) == 0)
            return fx->answers[i].calls;
    return -1;
}

static void
test_dns_positive_answer_is_cached_until_ttl(void **state SM_UNUSED)
{
    fixture *fx = fixture_new(100);
    dns_txt *t = NULL;
    dns_stats s;

    assert_int_equal(lookup(fx, "a.example", &t), DNS_OK);
    assert_int_equal(t->n, 1);
    assert_string_equal(t->rr[0], "v=DMARC1; p=none");
    dns_txt_free(t);
    fx->fake.now += 599 * 1000;
    assert_int_equal(lookup(fx, "A.Example.", &t), DNS_OK); /* case and trailing dot */
    assert_string_equal(t->rr[0], "v=DMARC1; p=none");
    dns_txt_free(t);
    assert_int_equal(calls(fx, "a.example"), 1);
    fx->fake.now += 2 * 1000;
    assert_int_equal(lookup(fx, "a.example", NULL), DNS_OK);
    assert_int_equal(calls(fx, "a.example"), 2);
    dns_cache_stats(fx->c, &s);
    assert_int_equal(s.hits, 1);
    assert_int_equal(s.misses, 2);
    fixture_free(fx);
}

static void
test_dns_several_records_are_returned_separately(void **state SM_UNUSED)
{
    fixture *fx = fixture_new(100);
    dns_txt *t = NULL;

    assert_int_equal(lookup(fx, "two.example", &t), DNS_OK);
    assert_int_equal(t->n, 2);
    assert_string_equal(t->rr[0], "one");
    assert_string_equal(t->rr[1], "two");
    assert_int_equal(t->len[1], 3);
    dns_txt_free(t);
    fixture_free(fx);
}

/* table: name, seconds after the first lookup, whether the resolver is asked again */
static const struct ttl_case {
    const char *name;
    long after_s;
    int asked_again;
} ttl_cases[] = {
    {"short.example", 29, 0}, /* TTL 1 raised to min_ttl 30 */
    {"short.example", 31, 1},
    {"long.example", 86399, 0}, /* TTL 999999 lowered to max_ttl 86400 */
    {"long.example", 86401, 1},
    {"nx.example", 119, 0}, /* NXDOMAIN with SOA-derived TTL 120 */
    {"nx.example", 121, 1},
    {"nosoa.example", 299, 0}, /* NXDOMAIN without SOA: neg_ttl 300 */
    {"nosoa.example", 301, 1},
    {"nodata.example", 59, 0}, /* NODATA with SOA TTL 60 */
    {"nodata.example", 61, 1},
};

static void
test_dns_ttls_are_clamped_and_negative_answers_cached(void **state SM_UNUSED)
{
    for (size_t i = 0; i < SM_ARRAY_LEN(ttl_cases); i++) {
        const struct ttl_case *tc = &ttl_cases[i];
        fixture *fx = fixture_new(100);
        dns_status first = lookup(fx, tc->name, NULL);

        fx->fake.now += (uint64_t)tc->after_s * 1000;
        assert_int_equal(lookup(fx, tc->name, NULL), first);
        if (calls(fx, tc->name) != 1 + tc->asked_again)
            fail_msg("case %zu (%s after %lds): resolver asked %d times", i, tc->name, tc->after_s,
                     calls(fx, tc->name));
        fixture_free(fx);
    }
}

static void
test_dns_tempfail_is_never_cached(void **state SM_UNUSED)
{
    fixture *fx = fixture_new(100);
    dns_stats s;

    assert_int_equal(lookup(fx, "temp.example", NULL), DNS_TEMPFAIL);
    assert_int_equal(lookup(fx, "temp.example", NULL), DNS_TEMPFAIL);
    assert_int_equal(calls(fx, "temp.example"), 2);
    dns_cache_stats(fx->c, &s);
    assert_int_equal(s.tempfails, 2);
    assert_int_equal(s.entries, 0);
    fixture_free(fx);
}

static void
test_dns_lru_bound_evicts_least_recently_used(void **state SM_UNUSED)
{
    fixture *fx = fixture_new(3);
    dns_stats s;

    lookup(fx, "l1.example", NULL);
    lookup(fx, "l2.example", NULL);
    lookup(fx, "l3.example", NULL);
    lookup(fx, "l1.example", NULL); /* l1 is now the most recent; l2 the oldest */
    lookup(fx, "l4.example", NULL); /* evicts l2 */
    dns_cache_stats(fx->c, &s);
    assert_int_equal(s.entries, 3);
    assert_int_equal(s.evictions, 1);
    lookup(fx, "l1.example", NULL);
    lookup(fx, "l3.example", NULL);
    lookup(fx, "l4.example", NULL);
    assert_int_equal(calls(fx, "l1.example"), 1);
    assert_int_equal(calls(fx, "l3.example"), 1);
    assert_int_equal(calls(fx, "l4.example"), 1);
    lookup(fx, "l2.example", NULL);
    assert_int_equal(calls(fx, "l2.example"), 2);
    fixture_free(fx);
}

static void
test_dns_passed_deadline_is_tempfail_without_query(void **state SM_UNUSED)
{
    fixture *fx = fixture_new(100);
    char err[256] = "";
    dns_txt *t = NULL;

    assert_int_equal(dns_lookup_txt(fx->c, "a.example", 1, &t, err, sizeof(err)), DNS_TEMPFAIL);
    assert_null(t);
    assert_int_equal(fx->fake.total_calls, 0);
    assert_non_null(strstr(err, "deadline"));
    fixture_free(fx);
}

static void
test_dns_invalid_names_are_refused(void **state SM_UNUSED)
{
    fixture *fx = fixture_new(100);
    char err[256] = "";
    dns_txt *t = NULL;

    assert_int_equal(dns_lookup_txt(fx->c, "", 0, &t, err, sizeof(err)), DNS_NXDOMAIN);
    assert_int_equal(dns_lookup_txt(fx->c, "a b.example", 0, &t, err, sizeof(err)), DNS_NXDOMAIN);
    assert_int_equal(fx->fake.total_calls, 0);
    fixture_free(fx);
}

/* ---- wire format ---- */

typedef struct wire {
    unsigned char b[1024];
    size_t n;
} wire;

static void
put8(wire *w, unsigned v)
{
    w->b[w->n++] = (unsigned char)v;
}

static void
put16(wire *w, unsigned v)
{
    put8(w, v >> 8);
    put8(w, v & 0xff);
}

static void
put32(wire *w, uint32_t v)
{
    put16(w, v >> 16);
    put16(w, v & 0xffff);
}

static void
putname(wire *w, const char *name)
{
    const char *p = name;

    while (*p) {
        const char *dot = strchr(p, '.');
        size_t l = dot ? (size_t)(dot - p) : strlen(p);
        put8(w, (unsigned)l);
        memcpy(w->b + w->n, p, l);
        w->n += l;
        p += l + (dot ? 1 : 0);
    }
    put8(w, 0);
}

/* msg_start - header + question for name TXT */
static void
msg_start(wire *w, unsigned rcode, unsigned an, unsigned ns)
{
    w->n = 0;
    put16(w, 0x1234);
    put16(w, 0x8180 | rcode); /* QR RD RA */
    put16(w, 1);
    put16(w, an);
    put16(w, ns);
    put16(w, 0);
    putname(w, "_dmarc.example.com");
    put16(w, 16);
    put16(w, 1);
}

/* rr_txt - a TXT RR whose rdata is the given raw bytes */
static void
rr_txt(wire *w, uint32_t ttl, const char *raw, size_t rawlen)
{
    put16(w, 0xc00c); /* pointer to the question name */
    put16(w, 16);
    put16(w, 1);
    put32(w, ttl);
    put16(w, (unsigned)rawlen);
    memcpy(w->b + w->n, raw, rawlen);
    w->n += rawlen;
}

static void
rr_soa(wire *w, uint32_t ttl, uint32_t minimum)
{
    size_t lenpos;

    putname(w, "example.com");
    put16(w, 6);
    put16(w, 1);
    put32(w, ttl);
    lenpos = w->n;
    put16(w, 0);
    putname(w, "ns.example.com");
    putname(w, "hostmaster.example.com");
    put32(w, 1);
    put32(w, 7200);
    put32(w, 900);
    put32(w, 1209600);
    put32(w, minimum);
    w->b[lenpos] = (unsigned char)((w->n - lenpos - 2) >> 8);
    w->b[lenpos + 1] = (unsigned char)((w->n - lenpos - 2) & 0xff);
}

static void
test_dns_parse_concatenates_character_strings(void **state SM_UNUSED)
{
    wire w;
    dns_txt *t = NULL;
    uint32_t ttl;

    msg_start(&w, 0, 2, 0);
    rr_txt(&w, 500, "\x08v=DMARC1\x08; p=none", 18);
    rr_txt(&w, 300, "\x05hello", 6);
    assert_int_equal(dns_parse_answer(w.b, w.n, &t, &ttl), DNS_OK);
    assert_int_equal(t->n, 2);
    assert_string_equal(t->rr[0], "v=DMARC1; p=none");
    assert_string_equal(t->rr[1], "hello");
    assert_int_equal(ttl, 300);
    dns_txt_free(t);
}

static void
test_dns_parse_skips_bad_rdata_but_keeps_siblings(void **state SM_UNUSED)
{
    wire w;
    dns_txt *t = NULL;
    uint32_t ttl;

    msg_start(&w, 0, 2, 0);
    rr_txt(&w, 500, "\x09short", 6); /* string length beyond rdata */
    rr_txt(&w, 400, "\x02ok", 3);
    assert_int_equal(dns_parse_answer(w.b, w.n, &t, &ttl), DNS_OK);
    assert_int_equal(t->n, 1);
    assert_string_equal(t->rr[0], "ok");
    dns_txt_free(t);
}

/* table of negative and broken answers */
static void
test_dns_parse_negative_and_broken_answers(void **state SM_UNUSED)
{
    static const struct {
        unsigned rcode;
        int soa;
        uint32_t soa_ttl, soa_min;
        size_t cut; /* bytes removed from the end */
        dns_status want;
        uint32_t want_ttl;
    } cases[] = {
        {3, 1, 3600, 120, 0, DNS_NXDOMAIN, 120}, /* min(SOA TTL, minimum) */
        {3, 1, 60, 900, 0, DNS_NXDOMAIN, 60},
        {3, 0, 0, 0, 0, DNS_NXDOMAIN, 0}, /* no SOA: cache uses neg_ttl */
        {0, 1, 3600, 300, 0, DNS_NODATA, 300},
        {2, 0, 0, 0, 0, DNS_TEMPFAIL, 0},       /* SERVFAIL */
        {5, 0, 0, 0, 0, DNS_TEMPFAIL, 0},       /* REFUSED */
        {3, 1, 3600, 120, 10, DNS_TEMPFAIL, 0}, /* truncated message */
    };

    for (size_t i = 0; i < SM_ARRAY_LEN(cases); i++) {
        wire w;
        dns_txt *t = NULL;
        uint32_t ttl = 77;
        dns_status st;

        msg_start(&w, cases[i].rcode, 0, cases[i].soa ? 1 : 0);
        if (cases[i].soa)
            rr_soa(&w, cases[i].soa_ttl, cases[i].soa_min);
        st = dns_parse_answer(w.b, w.n - cases[i].cut, &t, &ttl);
        if (st != cases[i].want || (st != DNS_TEMPFAIL && ttl != cases[i].want_ttl))
            fail_msg("case %zu: got %s ttl %u", i, dns_status_name(st), ttl);
        assert_null(t);
    }
}

static void
test_dns_parse_garbage_is_tempfail(void **state SM_UNUSED)
{
    unsigned char junk[64];
    dns_txt *t = NULL;
    uint32_t ttl;

    for (size_t i = 0; i < sizeof(junk); i++)
        junk[i] = (unsigned char)(i * 37 + 11);
    for (size_t n = 0; n <= sizeof(junk); n++) {
        dns_status st = dns_parse_answer(junk, n, &t, &ttl);
        assert_true(st == DNS_TEMPFAIL || st == DNS_NXDOMAIN || st == DNS_NODATA || st == DNS_OK);
        dns_txt_free(t);
        t = NULL;
    }
    assert_int_equal(dns_parse_answer(NULL, 0, &t, &ttl), DNS_TEMPFAIL);
}

/* ---- the real resolver against a loopback UDP server (a thread of this test) ---- */

typedef struct loop_server {
    int fd;
    unsigned port;
    int stop;    /* __atomic */
    int queries; /* __atomic */
    pthread_t thread;
} loop_server;

/* loop_reply - build the answer to query q for its name; 0 = stay silent */
static size_t
loop_reply(const unsigned char *q, size_t qn, wire *w)
{
    size_t end = 12;
    char name[256] = "";
    size_t nl = 0;

    while (end < qn && q[end] != 0 && nl + q[end] + 1 < sizeof(name)) {
        if (nl > 0)
            name[nl++] = '.';
        memcpy(name + nl, q + end + 1, q[end]);
        nl += q[end];
        end += (size_t)q[end] + 1;
    }
    name[nl] = '\0';
    end += 5; /* the root label, QTYPE, QCLASS */
    if (end > qn || strcmp(name, "slow.test") == 0)
        return 0;
    w->n = 0;
    put16(w, (unsigned)(q[0] << 8 | q[1]));
    put16(w, 0x8180 | (strcmp(name, "nx.test") == 0 ? 3 : strcmp(name, "fail.test") == 0 ? 2 : 0));
    put16(w, 1);
    put16(w, strcmp(name, "txt.test") == 0 ? 1 : 0);
    put16(w, strcmp(name, "nx.test") == 0 ? 1 : 0);
    put16(w, 0);
    memcpy(w->b + w->n, q + 12, end - 12);
    w->n += end - 12;
    if (strcmp(name, "txt.test") == 0)
        rr_txt(w, 900, "\x07v=DKIM1\x05; p=x", 14);
    if (strcmp(name, "nx.test") == 0)
        rr_soa(w, 3600, 240);
    return w->n;
}

static void *
loop_main(void *arg)
{
    loop_server *ls = arg;

    while (!__atomic_load_n(&ls->stop, __ATOMIC_ACQUIRE)) {
        struct pollfd pfd = {ls->fd, POLLIN, 0};
        unsigned char q[512];
        struct sockaddr_in from;
        socklen_t fl = sizeof(from);
        ssize_t n;
        wire w;

        if (poll(&pfd, 1, 50) <= 0)
            continue;
        n = recvfrom(ls->fd, q, sizeof(q), 0, (struct sockaddr *)&from, &fl);
        if (n < 12)
            continue;
        __atomic_add_fetch(&ls->queries, 1, __ATOMIC_ACQ_REL);
        if (loop_reply(q, (size_t)n, &w) > 0)
            sendto(ls->fd, w.b, w.n, 0, (struct sockaddr *)&from, fl);
    }
    return NULL;
}

static void
loop_start(loop_server *ls)
{
    struct sockaddr_in sin;
    socklen_t sl = sizeof(sin);

    memset(ls, 0, sizeof(*ls));
    memset(&sin, 0, sizeof(sin));
    sin.sin_family = AF_INET;
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ls->fd = socket(AF_INET, SOCK_DGRAM, 0);
    assert_true(ls->fd >= 0);
    assert_int_equal(bind(ls->fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
    assert_int_equal(getsockname(ls->fd, (struct sockaddr *)&sin, &sl), 0);
    ls->port = ntohs(sin.sin_port);
    assert_int_equal(pthread_create(&ls->thread, NULL, loop_main, ls), 0);
}

static void
loop_stop(loop_server *ls)
{
    __atomic_store_n(&ls->stop, 1, __ATOMIC_RELEASE);
    pthread_join(ls->thread, NULL);
    close(ls->fd);
}

static void
test_dns_real_resolver_over_loopback(void **state SM_UNUSED)
{
    static const struct {
        const char *name;
        dns_status want;
        const char *txt;
    } cases[] = {
        {"txt.test", DNS_OK, "v=DKIM1; p=x"}, {"nx.test", DNS_NXDOMAIN, NULL},
        {"nodata.test", DNS_NODATA, NULL},    {"fail.test", DNS_TEMPFAIL, NULL},
        {"slow.test", DNS_TEMPFAIL, NULL}, /* no answer: deadline */
    };
    dns_opts o;
    dns_cache *c;
    loop_server ls;

    loop_start(&ls);
    dns_opts_defaults(&o);
    o.timeout_ms = 1500;
    c = dns_cache_new(&o);
    assert_int_equal(dns_cache_set_server(c, "127.0.0.1", ls.port), 0);
    assert_int_equal(dns_cache_set_server(c, "not-an-ip", 53), -1);
    for (size_t i = 0; i < SM_ARRAY_LEN(cases); i++) {
        char err[256] = "";
        dns_txt *t = NULL;
        uint64_t t0 = util_now_ms();
        dns_status st = dns_lookup_txt(c, cases[i].name, 0, &t, err, sizeof(err));
        uint64_t ms = util_now_ms() - t0;

        if (st != cases[i].want)
            fail_msg("%s: %s (%s)", cases[i].name, dns_status_name(st), err);
        if (cases[i].txt != NULL) {
            assert_int_equal(t->n, 1);
            assert_string_equal(t->rr[0], cases[i].txt);
        }
        assert_true(ms < 3000); /* bounded by the 1.5 s timeout */
        dns_txt_free(t);
    }
    /* the negative answer is cached: no second query reaches the server */
    {
        int before = __atomic_load_n(&ls.queries, __ATOMIC_ACQUIRE);
        assert_int_equal(lookup_c(c, "nx.test"), DNS_NXDOMAIN);
        assert_int_equal(__atomic_load_n(&ls.queries, __ATOMIC_ACQUIRE), before);
    }
    dns_cache_free(c);
    dns_thread_cleanup();
    loop_stop(&ls);
}

/* ---- many threads over a small cache ---- */

typedef struct worker {
    dns_cache *c;
    int errors;
} worker;

static void *
worker_main(void *arg)
{
    worker *w = arg;
    char name[64], err[128];

    for (int i = 0; i < 3000; i++) {
        dns_txt *t = NULL;
        snprintf(name, sizeof(name), "l%d.example", 1 + (i * 7) % 4);
        if (dns_lookup_txt(w->c, name, 0, &t, err, sizeof(err)) != DNS_OK || t->n != 1)
            w->errors++;
        dns_txt_free(t);
        snprintf(name, sizeof(name), "n%d.example", i % 40);
        if (dns_lookup_txt(w->c, name, 0, &t, err, sizeof(err)) != DNS_NXDOMAIN)
            w->errors++;
    }
    return NULL;
}

static dns_status
sync_resolve(void *arg SM_UNUSED, const char *name, uint64_t deadline SM_UNUSED, dns_txt **txt_r,
             uint32_t *ttl_r)
{
    *ttl_r = 600;
    if (name[0] == 'n')
        return DNS_NXDOMAIN;
    *txt_r = dns_txt_new();
    dns_txt_add(*txt_r, name, strlen(name));
    return DNS_OK;
}

static void
test_dns_concurrent_lookups_keep_counts_and_bound(void **state SM_UNUSED)
{
    dns_opts o;
    pthread_t th[4];
    worker w[4];
    dns_stats s;

    dns_opts_defaults(&o);
    o.max_entries = 16;
    for (int i = 0; i < 4; i++)
        w[i].errors = 0;
    w[0].c = dns_cache_new(&o);
    dns_cache_set_resolver(w[0].c, sync_resolve, NULL);
    for (int i = 0; i < 4; i++) {
        w[i].c = w[0].c;
        assert_int_equal(pthread_create(&th[i], NULL, worker_main, &w[i]), 0);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(th[i], NULL);
        assert_int_equal(w[i].errors, 0);
    }
    dns_cache_stats(w[0].c, &s);
    assert_int_equal(s.hits + s.misses, 4 * 3000 * 2);
    assert_true(s.entries <= 16);
    assert_true(s.evictions > 0);
    dns_cache_free(w[0].c);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_dns_positive_answer_is_cached_until_ttl),
        cmocka_unit_test(test_dns_several_records_are_returned_separately),
        cmocka_unit_test(test_dns_ttls_are_clamped_and_negative_answers_cached),
        cmocka_unit_test(test_dns_tempfail_is_never_cached),
        cmocka_unit_test(test_dns_lru_bound_evicts_least_recently_used),
        cmocka_unit_test(test_dns_passed_deadline_is_tempfail_without_query),
        cmocka_unit_test(test_dns_invalid_names_are_refused),
        cmocka_unit_test(test_dns_parse_concatenates_character_strings),
        cmocka_unit_test(test_dns_parse_skips_bad_rdata_but_keeps_siblings),
        cmocka_unit_test(test_dns_parse_negative_and_broken_answers),
        cmocka_unit_test(test_dns_parse_garbage_is_tempfail),
        cmocka_unit_test(test_dns_real_resolver_over_loopback),
        cmocka_unit_test(test_dns_concurrent_lookups_keep_counts_and_bound),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
