/*
 * test_spf.c - unit tests of the strict SPF record checker, the record
 * rewriter, macro expansion and the spf_check() adapter over libspf2
 *
 * spf_check() runs against libspf2's in-memory zone layer placed under the
 * adapter (no network).  Tables: valid and invalid records, rewrites,
 * RFC 7208 7.4 macro examples, result names, and whole checks that prove
 * each adapter check (limits, /0, identity, loopback, ::ffff:, mapping).
 */
#include <netinet/in.h>
#include <arpa/inet.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <spf2/spf.h>
#include <spf2/spf_dns_zone.h>
#include <spf2/spf_dns_cache.h>

#include "auth/spf.h"
#include "auth/spf_dns.h"
#include "auth/spf_syntax.h"
#include "lib/util.h"

static const char *const valid_records[] = {
    "v=spf1",
    "v=spf1 -all",
    "V=SPF1 +A -ALL",
    "v=spf1 a mx ptr ~all",
    "v=spf1 a/24 mx//64 a:example.com/24//64 -all",
    "v=spf1 ip4:192.0.2.0/24 ip6:2001:db8::/32 ?all",
    "v=spf1 ip4:1.2.3.4/0 ip6:::1.1.1.1/0",
    "v=spf1 a/0 mx//0 -all",
    "v=spf1 include:_spf.example.com exists:%{ir}.%{v}._spf.%{d2} -all",
    "v=spf1 redirect=_spf.example.com",
    "v=spf1 -all exp=explain.%{d}",
    "v=spf1 -all foo.bar-baz_q=%{l}x",
    "v=spf1 a:%{d}",
    "v=spf1 a:example.com. -all",
    "v=spf1 a:xn--bcher-kva.example -all",
    "v=spf1 a:foo.1-2 -all",
    "v=spf1 a  -all ",
    "v=spf1 exists:%{l1r-}.%{o}.%-%_%%.example.com",
};

static const char *const invalid_records[] = {
    "v=spf1 a:foo-bar -all",            /* no top label */
    "v=spf1 a:museum",                  /* single label */
    "v=spf1 a:example.123",             /* numeric top label */
    "v=spf1 ptr:",                      /* empty domain-spec */
    "v=spf1 ptr/0 -all",                /* ptr takes no CIDR */
    "v=spf1 exists:foo/24",             /* '/' ends the top label */
    "v=spf1 ip4:1.2.3.4/032",           /* leading zero */
    "v=spf1 ip4:1.2.3.4/33",            /* out of range */
    "v=spf1 ip6:::1/129",               /* out of range */
    "v=spf1 ip4:1.2.3",                 /* short address */
    "v=spf1 ip4:01.2.3.4",              /* leading zero octet */
    "v=spf1 ip6:1::2::3",               /* bad IPv6 */
    "v=spf1 ip4:",                      /* empty network */
    "v=spf1 -all exp=%{r}.example.com", /* r only in explanations */
    "v=spf1 a:%{c}.example.com",        /* c only in explanations */
    "v=spf1 a:%{d0}.example.com",       /* zero digit transformer */
    "v=spf1 a:%{x}.example.com",        /* unknown macro letter */
    "v=spf1 a:%.example.com",           /* lone percent */
    "v=spf1 a:%{d.example.com",         /* unterminated macro */
    "v=spf1 redirect=a.example.com redirect=b.example.com",
    "v=spf1 -all exp=a.example.com exp=b.example.com",
    "v=spf1 foo:bar",             /* unknown mechanism */
    "v=spf1 all:foo",             /* all takes no argument */
    "v=spf1 include",             /* include needs a domain */
    "v=spf1 1foo=bar",            /* modifier name must start with ALPHA */
    "v=spf1 a:example.com\t-all", /* tab separator */
    "v=spf1 a:example.com\r-all", /* control character */
    ("v=spf1 \x80"
     "a -all"),              /* non-ASCII (split: \x80a would be one escape) */
    "v=spf1 -all foo=%",     /* bad macro in unknown modifier */
    "v=spf1 -all redirect=", /* empty redirect */
    "v=spf1 +",              /* qualifier alone */
    "v=spf10 -all",          /* not version 1 */
};

static void
test_spf_syntax_accepts_valid_records(void **state)
{
    char err[200];
    (void)state;
    for (size_t i = 0; i < SM_ARRAY_LEN(valid_records); i++) {
        spf_syntax_rec *r =
            spf_syntax_parse(valid_records[i], strlen(valid_records[i]), err, sizeof(err));
        if (r == NULL)
            fail_msg("valid record refused: '%s': %s", valid_records[i], err);
        spf_syntax_free(r);
    }
}

static void
test_spf_syntax_rejects_invalid_records_with_reason(void **state)
{
    char err[200];
    (void)state;
    for (size_t i = 0; i < SM_ARRAY_LEN(invalid_records); i++) {
        spf_syntax_rec *r;
        err[0] = '\0';
        r = spf_syntax_parse(invalid_records[i], strlen(invalid_records[i]), err, sizeof(err));
        if (r != NULL)
            fail_msg("invalid record accepted: '%s'", invalid_records[i]);
        assert_true(err[0] != '\0');
    }
}

static spf_ctx *zone_ctx(const char *const *entries);
static spf_ctx *zone_ctx_cached(const char *const *entries, int cached);

/* random records: the checker gives a reason or a record, spf_check permerror when refused */
static void
test_spf_syntax_random_records_never_crash_and_give_permerror(void **state)
{
    static const char alphabet[] = "v=spf1 a:mx/%{}.-+~?0123456789ipexlsrdt:_\x80\t";
    unsigned long seed = 12345;
    char buf[64], err[128], entry[100];
    int refused = 0;
    (void)state;
    for (int n = 0; n < 3000; n++) {
        spf_syntax_rec *r;
        size_t len = 7 + (seed = seed * 6364136223846793005UL + 1442695040888963407UL) % 40;
        memcpy(buf, "v=spf1 ", 7);
        for (size_t i = 7; i < len; i++) {
            seed = seed * 6364136223846793005UL + 1442695040888963407UL;
            buf[i] = alphabet[(seed >> 33) % (sizeof(alphabet) - 1)];
        }
        buf[len] = '\0';
        err[0] = '\0';
        r = spf_syntax_parse(buf, len, err, sizeof(err));
        if (r == NULL) {
            assert_true(err[0] != '\0');
            if (refused++ < 300) { /* and the adapter turns it into permerror */
                const char *z[] = {entry, NULL};
                spf_ctx *ctx;
                snprintf(entry, sizeof(entry), "r.example.com|T|%s", buf);
                ctx = zone_ctx(z);
                assert_int_equal(spf_check(ctx, "192.0.2.1", "r.example.com", NULL, NULL, 0, NULL),
                                 SPF_R_PERMERROR);
                spf_ctx_free(ctx);
            }
        }
        spf_syntax_free(r);
    }
    assert_true(refused > 0);
}

static const struct {
    const char *in;
    int af;
    const char *out;
} rewrites[] = {
    {"v=spf1 ip4:1.1.1.1/0 -all", AF_INET, "v=spf1 +ip4:0.0.0.0/1 +ip4:128.0.0.0/1 -all"},
    {"v=spf1 ip4:1.1.1.1/0 -all", AF_INET6, "v=spf1 -all"},
    {"v=spf1 -ip6:::1/0", AF_INET6, "v=spf1 -ip6:::/1 -ip6:8000::/1"},
    {"v=spf1 a/0 -all", AF_INET, "v=spf1 +exists:%{d}" SPF_SYNTAX_PROBE_A4 " -all"},
    {"v=spf1 a/0 -all", AF_INET6, "v=spf1 +a -all"},
    {"v=spf1 mx:example.com.//0", AF_INET6, "v=spf1 +exists:example.com" SPF_SYNTAX_PROBE_MX6},
    {"v=spf1 a:e.com/24//64", AF_INET, "v=spf1 +a:e.com/24"},
    {"v=spf1 a:e.com/24//64", AF_INET6, "v=spf1 +a:e.com//64"},
    {"v=spf1 -all redirect=x.example.com", AF_INET, "v=spf1 -all"},
    {"v=spf1 redirect=x.example.com", AF_INET, "v=spf1 redirect=x.example.com"},
    {"v=spf1 a.b-c_d=x ~all exp=e.example.com", AF_INET, "v=spf1 ~all exp=e.example.com"},
};

static void
test_spf_syntax_rewrite_gives_libspf2_equivalent(void **state)
{
    char err[200];
    (void)state;
    for (size_t i = 0; i < SM_ARRAY_LEN(rewrites); i++) {
        spf_syntax_rec *r =
            spf_syntax_parse(rewrites[i].in, strlen(rewrites[i].in), err, sizeof(err));
        char *out;
        assert_non_null(r);
        out = spf_syntax_rewrite(r, rewrites[i].af);
        assert_string_equal(out, rewrites[i].out);
        free(out);
        spf_syntax_free(r);
    }
}

/* RFC 7208 7.4 examples */
static const struct {
    const char *macro;
    int v6;
    const char *out;
} expansions[] = {
    {"%{s}", 0, "strong-bad@email.example.com"},
    {"%{o}", 0, "email.example.com"},
    {"%{d}", 0, "email.example.com"},
    {"%{d4}", 0, "email.example.com"},
    {"%{d3}", 0, "email.example.com"},
    {"%{d2}", 0, "example.com"},
    {"%{d1}", 0, "com"},
    {"%{dr}", 0, "com.example.email"},
    {"%{d2r}", 0, "example.email"},
    {"%{l}", 0, "strong-bad"},
    {"%{l-}", 0, "strong.bad"},
    {"%{lr}", 0, "strong-bad"},
    {"%{lr-}", 0, "bad.strong"},
    {"%{l1r-}", 0, "strong"},
    {"%{ir}.%{v}._spf.%{d2}", 0, "3.2.0.192.in-addr._spf.example.com"},
    {"%{lr-}.lp._spf.%{d2}", 0, "bad.strong.lp._spf.example.com"},
    {"%{ir}.%{v}.%{l1r-}.lp._spf.%{d2}", 0, "3.2.0.192.in-addr.strong.lp._spf.example.com"},
    {"%{d2}.trusted-domains.example.net", 0, "example.com.trusted-domains.example.net"},
    {"%{ir}.%{v}._spf.%{d2}", 1,
     "1.0.B.C.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.B.D.0.1.0.0.2.ip6._spf.example.com"},
    {"%{S} %%%_%-", 0, "strong-bad%40email.example.com % %20"},
};

static void
test_spf_syntax_expand_matches_rfc7208_examples(void **state)
{
    struct in_addr a4;
    struct in6_addr a6;
    char i4[80], c4[64], i6[80], c6[64];
    (void)state;
    inet_pton(AF_INET, "192.0.2.3", &a4);
    inet_pton(AF_INET6, "2001:db8::cb01", &a6);
    spf_syntax_ip_macros(AF_INET, &a4, i4, sizeof(i4), c4, sizeof(c4));
    spf_syntax_ip_macros(AF_INET6, &a6, i6, sizeof(i6), c6, sizeof(c6));
    for (size_t k = 0; k < SM_ARRAY_LEN(expansions); k++) {
        spf_syntax_vars v = {.s = "strong-bad@email.example.com",
                             .l = "strong-bad",
                             .o = "email.example.com",
                             .d = "email.example.com",
                             .i = expansions[k].v6 ? i6 : i4,
                             .c = expansions[k].v6 ? c6 : c4,
                             .v = expansions[k].v6 ? "ip6" : "in-addr"};
        char *out = spf_syntax_expand(expansions[k].macro, strlen(expansions[k].macro), 1, &v);
        assert_non_null(out);
        assert_string_equal(out, expansions[k].out);
        free(out);
    }
    assert_null(spf_syntax_expand("%{x}", 4, 1, NULL));
}

static void
test_spf_dns_name_prepare_truncates_left_and_refuses_bad_labels(void **state)
{
    char in[700], out[300], l63[64], l64[65];
    (void)state;
    memset(l63, 'a', 63), l63[63] = '\0';
    memset(l64, 'b', 64), l64[64] = '\0';
    assert_int_equal(spf_dns_name_prepare("mail.example.com.", out, sizeof(out)), 0);
    assert_string_equal(out, "mail.example.com");
    assert_int_equal(spf_dns_name_prepare("a..example.com", out, sizeof(out)), -1);
    assert_int_equal(spf_dns_name_prepare("", out, sizeof(out)), -1);
    snprintf(in, sizeof(in), "%s.example.com", l63);
    assert_int_equal(spf_dns_name_prepare(in, out, sizeof(out)), 0);
    snprintf(in, sizeof(in), "%s.example.com", l64);
    assert_int_equal(spf_dns_name_prepare(in, out, sizeof(out)), -1);
    /* 64-octet label + 5 x 63: 389 octets; left labels go until <= 253 remain */
    snprintf(in, sizeof(in), "%s.%s.%s.%s.%s.%s", l64, l63, l63, l63, l63, l63);
    assert_int_equal(spf_dns_name_prepare(in, out, sizeof(out)), 0);
    assert_true(strlen(out) <= 253);
    assert_int_equal(strlen(out), 3 * 63 + 2); /* 324 and 260 octets were still too long */
    assert_int_equal(spf_dns_name_prepare(in, in, sizeof(in)), 0); /* in place */
    assert_string_equal(in, out);
    assert_int_equal(spf_dns_name_prepare("example.com", out, 200), -1); /* buffer too small */
}

static void
test_spf_result_names_round_trip(void **state)
{
    (void)state;
    for (int r = SPF_R_NONE; r <= SPF_R_PERMERROR; r++)
        assert_int_equal(spf_result_parse(spf_result_name((spf_result)r)), r);
    assert_int_equal(spf_result_parse("unknown"), SPF_R_PERMERROR);
    assert_int_equal(spf_result_parse("error"), SPF_R_TEMPERROR);
    assert_int_equal(spf_result_parse("bogus"), -1);
    assert_string_equal(spf_result_name((spf_result)99), "invalid");
    assert_true(spf_result_rank(SPF_R_FAIL) > spf_result_rank(SPF_R_SOFTFAIL));
    assert_true(spf_result_rank(SPF_R_SOFTFAIL) > spf_result_rank(SPF_R_PASS));
}

static const struct {
    const char *ip;
    int ok;
} usable[] = {
    {"192.0.2.1", 1},        {"2001:db8::1", 1}, {"127.0.0.1", 0}, {"127.9.9.9", 0}, {"::1", 0},
    {"::ffff:127.0.0.1", 0}, {"0.0.0.0", 0},     {"::", 0},        {"bogus", 0},     {"", 0},
};

static void
test_spf_ip_usable_refuses_loopback_and_junk(void **state)
{
    char err[200];
    (void)state;
    for (size_t i = 0; i < SM_ARRAY_LEN(usable); i++)
        assert_int_equal(spf_ip_usable(usable[i].ip, err, sizeof(err)) == 0, usable[i].ok);
}

/* a context over a zone: entries "name|type|data"; type T = TXT, A, AAAA, MX, PTR, X = timeout */
static spf_ctx *
zone_ctx(const char *const *entries)
{
    return zone_ctx_cached(entries, 0);
}

/* as zone_ctx; cached: libspf2's cache layer between the adapter and the zone, as in production */
static spf_ctx *
zone_ctx_cached(const char *const *entries, int cached)
{
    SPF_dns_server_t *z = SPF_dns_zone_new(NULL, "unit", 0);
    spf_opts o;
    char err[200];
    spf_ctx *ctx;

    for (size_t i = 0; entries[i] != NULL; i++) {
        char name[256], type[8];
        const char *p = strchr(entries[i], '|'), *q = strchr(p + 1, '|');
        snprintf(name, sizeof(name), "%.*s", (int)(p - entries[i]), entries[i]);
        snprintf(type, sizeof(type), "%.*s", (int)(q - p - 1), p + 1);
        if (strcmp(type, "X") == 0)
            SPF_dns_zone_add_str(z, name, ns_t_any, TRY_AGAIN, NULL);
        else
            SPF_dns_zone_add_str(z, name,
                                 strcmp(type, "T") == 0      ? ns_t_txt
                                 : strcmp(type, "A") == 0    ? ns_t_a
                                 : strcmp(type, "AAAA") == 0 ? ns_t_aaaa
                                 : strcmp(type, "PTR") == 0  ? ns_t_ptr
                                                             : ns_t_mx,
                                 NETDB_SUCCESS, q + 1);
    }
    spf_opts_defaults(&o);
    o.use_system_resolver = 0;
    ctx = spf_ctx_new_dns(&o, cached ? SPF_dns_cache_new(z, NULL, 0, 8) : z, err, sizeof(err));
    assert_non_null(ctx);
    return ctx;
}

static const char *const zone1[] = {
    "pass.example.com|T|v=spf1 ip4:192.0.2.0/24 -all",
    "zero.example.com|T|v=spf1 ip4:10.0.0.0/0 -all",
    "azero.example.com|T|v=spf1 a/0 -all",
    "azero.example.com|A|10.9.9.9",
    "mxzero.example.com|T|v=spf1 mx/0 -all",
    "mxzero.example.com|MX|10 mail.mxzero.example.com",
    "mail.mxzero.example.com|A|10.8.8.8",
    "two.example.com|T|v=spf1 -all",
    "two.example.com|T|v=spf1 +all",
    "bad.example.com|T|v=spf1 a:foo-bar -all",
    "slow.example.com|X|",
    "inc11.example.com|T|v=spf1 include:i1.example.com include:i2.example.com "
    "include:i3.example.com include:i4.example.com include:i5.example.com "
    "include:i6.example.com include:i7.example.com include:i8.example.com "
    "include:i9.example.com include:i10.example.com include:i11.example.com -all",
    "inc10.example.com|T|v=spf1 include:i1.example.com include:i2.example.com "
    "include:i3.example.com include:i4.example.com include:i5.example.com "
    "include:i6.example.com include:i7.example.com include:i8.example.com "
    "include:i9.example.com include:i10.example.com -all",
    "void3.example.com|T|v=spf1 a:n1.example.com a:n2.example.com a:n3.example.com -all",
    "void2.example.com|T|v=spf1 a:n1.example.com a:n2.example.com -all",
    "modname.example.com|T|v=spf1 a.b-c_d=x ip4:192.0.2.1 -all",
    "redir.example.com|T|v=spf1 ip4:192.0.2.1 -all redirect=redir.example.com",
    "exp.example.com|T|v=spf1 -all exp=why.example.com",
    "why.example.com|T|%{i} is not one of %{d}'s servers",
    "dot.example.com|T|v=spf1 a:host.example.com. -all",
    "host.example.com|A|192.0.2.55",
    "host.example.com|AAAA|2001:db8::55",
    "v6.example.com|T|v=spf1 ip6:2001:db8::/32 -all",
    "badlabel.example.com|T|v=spf1 a:%{l}.x.example.com a:%{l}.y.example.com "
    "a:%{l}.z.example.com -all",
    NULL,
};

/* zone entries for i1..i11 (each a harmless include target) */
static const char *const incs[] = {
    "i1.example.com|T|v=spf1 ?ip4:198.51.100.1",  "i2.example.com|T|v=spf1 ?ip4:198.51.100.1",
    "i3.example.com|T|v=spf1 ?ip4:198.51.100.1",  "i4.example.com|T|v=spf1 ?ip4:198.51.100.1",
    "i5.example.com|T|v=spf1 ?ip4:198.51.100.1",  "i6.example.com|T|v=spf1 ?ip4:198.51.100.1",
    "i7.example.com|T|v=spf1 ?ip4:198.51.100.1",  "i8.example.com|T|v=spf1 ?ip4:198.51.100.1",
    "i9.example.com|T|v=spf1 ?ip4:198.51.100.1",  "i10.example.com|T|v=spf1 ?ip4:198.51.100.1",
    "i11.example.com|T|v=spf1 ?ip4:198.51.100.1",
};

static spf_ctx *
zone1_ctx_cached(int cached)
{
    const char *all[SM_ARRAY_LEN(zone1) + SM_ARRAY_LEN(incs)];
    size_t n = 0;
    for (size_t i = 0; i < SM_ARRAY_LEN(incs); i++)
        all[n++] = incs[i];
    for (size_t i = 0; i < SM_ARRAY_LEN(zone1); i++)
        all[n++] = zone1[i];
    return zone_ctx_cached(all, cached);
}

static spf_ctx *
zone1_ctx(void)
{
    return zone1_ctx_cached(0);
}

static const struct {
    const char *what, *ip, *domain;
    spf_result want;
} checks[] = {
    {"ip4 match passes", "192.0.2.7", "pass.example.com", SPF_R_PASS},
    {"ip4 miss fails", "198.51.100.7", "pass.example.com", SPF_R_FAIL},
    {"::ffff: client is IPv4", "::ffff:192.0.2.7", "pass.example.com", SPF_R_PASS},
    {"ip4 /0 matches any IPv4", "203.0.113.9", "zero.example.com", SPF_R_PASS},
    {"ip4 /0 never matches IPv6", "2001:db8::9", "zero.example.com", SPF_R_FAIL},
    {"a/0 matches when A exists", "203.0.113.9", "azero.example.com", SPF_R_PASS},
    {"a/0 needs an address of the family", "2001:db8::9", "azero.example.com", SPF_R_FAIL},
    {"mx/0 matches when an MX host has A", "203.0.113.9", "mxzero.example.com", SPF_R_PASS},
    {"two records are permerror", "192.0.2.7", "two.example.com", SPF_R_PERMERROR},
    {"invalid record is permerror", "192.0.2.7", "bad.example.com", SPF_R_PERMERROR},
    {"no record is none", "192.0.2.7", "nothing.example.com", SPF_R_NONE},
    {"DNS timeout is temperror", "192.0.2.7", "slow.example.com", SPF_R_TEMPERROR},
    {"11 includes exceed the limit", "192.0.2.7", "inc11.example.com", SPF_R_PERMERROR},
    {"10 includes are allowed", "192.0.2.7", "inc10.example.com", SPF_R_FAIL},
    {"3 void lookups exceed the limit", "192.0.2.7", "void3.example.com", SPF_R_PERMERROR},
    {"2 void lookups are allowed", "192.0.2.7", "void2.example.com", SPF_R_FAIL},
    {"modifier name with . - _ is ignored", "192.0.2.1", "modname.example.com", SPF_R_PASS},
    {"redirect next to all is ignored", "192.0.2.1", "redir.example.com", SPF_R_PASS},
    {"trailing-dot domain-spec works", "192.0.2.55", "dot.example.com", SPF_R_PASS},
    {"a for an IPv6 client uses AAAA", "2001:db8::55", "dot.example.com", SPF_R_PASS},
    {"ip6 network matches", "2001:db8:1::1", "v6.example.com", SPF_R_PASS},
    {"ip6 network misses", "2001:db9::1", "v6.example.com", SPF_R_FAIL},
    {"single-label domain is none", "192.0.2.7", "localhost", SPF_R_NONE},
    {"empty label is none", "192.0.2.7", "a..example.com", SPF_R_NONE},
    {"domain literal is none", "192.0.2.7", "[192.0.2.7]", SPF_R_NONE},
    {"NULL domain is none", "192.0.2.7", NULL, SPF_R_NONE},
    {"loopback client is not passed", "127.0.0.1", "pass.example.com", SPF_R_PERMERROR},
    {"malformed client is permerror", "300.1.1.1", "pass.example.com", SPF_R_PERMERROR},
};

static void
test_spf_check_applies_adapter_checks(void **state)
{
    (void)state;
    for (int cached = 0; cached <= 1; cached++) { /* twice through a warm cache too */
        spf_ctx *ctx = zone1_ctx_cached(cached);
        spf_detail d;
        for (int round = 0; round < 1 + cached; round++) {
            for (size_t i = 0; i < SM_ARRAY_LEN(checks); i++) {
                spf_result r =
                    spf_check(ctx, checks[i].ip, checks[i].domain, NULL, "helo.example.com", 0, &d);
                if (r != checks[i].want)
                    fail_msg("%s (cached %d round %d): got %s (%s), want %s", checks[i].what,
                             cached, round, spf_result_name(r), d.reason,
                             spf_result_name(checks[i].want));
            }
        }
        spf_ctx_free(ctx);
    }
}

static void
test_spf_check_malformed_names_count_as_void_lookups(void **state)
{
    spf_ctx *ctx = zone1_ctx();
    spf_detail d;
    (void)state;
    /* %{l} = "a..b": three names with an empty label, three void lookups */
    assert_int_equal(spf_check(ctx, "192.0.2.7", "badlabel.example.com",
                               "a..b@badlabel.example.com", NULL, 0, &d),
                     SPF_R_PERMERROR);
    assert_int_equal(d.void_lookups, 3);
    assert_int_equal(d.adapter_override, 1);
    /* "ab": real names, NXDOMAIN too: the same limit applies */
    assert_int_equal(
        spf_check(ctx, "192.0.2.7", "badlabel.example.com", "ab@badlabel.example.com", NULL, 0, &d),
        SPF_R_PERMERROR);
    spf_ctx_free(ctx);
}

static void
test_spf_check_explanation_is_expanded(void **state)
{
    spf_ctx *ctx = zone1_ctx();
    spf_detail d;
    (void)state;
    assert_int_equal(
        spf_check(ctx, "198.51.100.7", "exp.example.com", "a b@exp.example.com", NULL, 0, &d),
        SPF_R_FAIL);
    assert_string_equal(d.explanation, "198.51.100.7 is not one of exp.example.com's servers");
    assert_int_equal(d.adapter_override, 0);
    spf_ctx_free(ctx);
}

/*
 * RFC 7208 7 macros in every domain-spec, checked by the DNS name queried:
 * each row publishes "record" at example.com and an A record only at the
 * correctly expanded name, so the check passes only when that name was
 * asked (libspf2 alone drops the first character when a digit transformer
 * is at least the number of parts, and refuses the ',' and '/' delimiters).
 * Client 192.0.2.1 (PTR mail.example.com), HELO mail.example.org.
 */
static const struct {
    const char *what, *ip, *sender, *record, *name;
} macro_checks[] = {
    {"s", "192.0.2.1", "strong-bad@example.com", "exists:%{s}.m.test",
     "strong-bad@example.com.m.test"},
    {"s1", "192.0.2.1", "strong-bad@example.com", "exists:%{s1}.m.test", "com.m.test"},
    {"s2 = parts", "192.0.2.1", "strong-bad@example.com", "exists:%{s2}.m.test",
     "strong-bad@example.com.m.test"},
    {"l", "192.0.2.1", "strong-bad@example.com", "exists:%{l}.m.test", "strong-bad.m.test"},
    {"l1 = parts", "192.0.2.1", "strong-bad@example.com", "exists:%{l1}.m.test",
     "strong-bad.m.test"},
    {"l-", "192.0.2.1", "strong-bad@example.com", "exists:%{l-}.m.test", "strong.bad.m.test"},
    {"l1-", "192.0.2.1", "strong-bad@example.com", "exists:%{l1-}.m.test", "bad.m.test"},
    {"l2- = parts", "192.0.2.1", "strong-bad@example.com", "exists:%{l2-}.m.test",
     "strong.bad.m.test"},
    {"l9- > parts", "192.0.2.1", "strong-bad@example.com", "exists:%{l9-}.m.test",
     "strong.bad.m.test"},
    {"lr-", "192.0.2.1", "strong-bad@example.com", "exists:%{lr-}.m.test", "bad.strong.m.test"},
    {"l1r+-", "192.0.2.1", "strong-bad@example.com", "exists:%{l1r+-}.m.test", "strong.m.test"},
    {"l2r+- = parts", "192.0.2.1", "strong+bad@example.com", "exists:%{l2r+-}.m.test",
     "bad.strong.m.test"},
    {"o", "192.0.2.1", "strong-bad@example.com", "exists:%{o}.m.test", "example.com.m.test"},
    {"o1", "192.0.2.1", "strong-bad@example.com", "exists:%{o1}.m.test", "com.m.test"},
    {"o2 = parts", "192.0.2.1", "strong-bad@example.com", "exists:%{o2}.m.test",
     "example.com.m.test"},
    {"or", "192.0.2.1", "strong-bad@example.com", "exists:%{or}.m.test", "com.example.m.test"},
    {"d", "192.0.2.1", NULL, "exists:%{d}.m.test", "example.com.m.test"},
    {"d1", "192.0.2.1", NULL, "exists:%{d1}.m.test", "com.m.test"},
    {"d2 = parts", "192.0.2.1", NULL, "exists:%{d2}.m.test", "example.com.m.test"},
    {"d3 > parts", "192.0.2.1", NULL, "exists:%{d3}.m.test", "example.com.m.test"},
    {"dr", "192.0.2.1", NULL, "exists:%{dr}.m.test", "com.example.m.test"},
    {"d1r", "192.0.2.1", NULL, "exists:%{d1r}.m.test", "example.m.test"},
    {"d2r = parts", "192.0.2.1", NULL, "exists:%{d2r}.m.test", "com.example.m.test"},
    {"i", "192.0.2.1", NULL, "exists:%{i}.m.test", "192.0.2.1.m.test"},
    {"i1", "192.0.2.1", NULL, "exists:%{i1}.m.test", "1.m.test"},
    {"i4 = parts", "192.0.2.1", NULL, "exists:%{i4}.m.test", "192.0.2.1.m.test"},
    {"i5 > parts", "192.0.2.1", NULL, "exists:%{i5}.m.test", "192.0.2.1.m.test"},
    {"ir", "192.0.2.1", NULL, "exists:%{ir}.m.test", "1.2.0.192.m.test"},
    {"i2r", "192.0.2.1", NULL, "exists:%{i2r}.m.test", "0.192.m.test"},
    {"i4r = parts", "192.0.2.1", NULL, "exists:%{i4r}.m.test", "1.2.0.192.m.test"},
    {"i IPv6 nibbles", "2001:db8::cb01", NULL, "exists:%{i}.m.test",
     "2.0.0.1.0.d.b.8.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.c.b.0.1.m.test"},
    {"i8 IPv6", "2001:db8::cb01", NULL, "exists:%{i8}.m.test", "0.0.0.0.c.b.0.1.m.test"},
    {"i32 IPv6 = parts", "2001:db8::cb01", NULL, "exists:%{i32}.m.test",
     "2.0.0.1.0.d.b.8.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.c.b.0.1.m.test"},
    {"i8r IPv6", "2001:db8::cb01", NULL, "exists:%{i8r}.m.test", "8.b.d.0.1.0.0.2.m.test"},
    {"p", "192.0.2.1", NULL, "exists:%{p}.m.test", "mail.example.com.m.test"},
    {"p2", "192.0.2.1", NULL, "exists:%{p2}.m.test", "example.com.m.test"},
    {"p3 = parts", "192.0.2.1", NULL, "exists:%{p3}.m.test", "mail.example.com.m.test"},
    {"h", "192.0.2.1", NULL, "exists:%{h}.m.test", "mail.example.org.m.test"},
    {"h2", "192.0.2.1", NULL, "exists:%{h2}.m.test", "example.org.m.test"},
    {"h3 = parts", "192.0.2.1", NULL, "exists:%{h3}.m.test", "mail.example.org.m.test"},
    {"v IPv4", "192.0.2.1", NULL, "exists:%{v}.m.test", "in-addr.m.test"},
    {"v1 = parts", "192.0.2.1", NULL, "exists:%{v1}.m.test", "in-addr.m.test"},
    {"v1-", "192.0.2.1", NULL, "exists:%{v1-}.m.test", "addr.m.test"},
    {"v IPv6", "2001:db8::cb01", NULL, "exists:%{v}.m.test", "ip6.m.test"},
    {"delimiter .", "192.0.2.1", "x.y@example.com", "exists:%{l1.}.m.test", "y.m.test"},
    {"delimiter -", "192.0.2.1", "x-y@example.com", "exists:%{lr-}.m.test", "y.x.m.test"},
    {"delimiter +", "192.0.2.1", "x+y@example.com", "exists:%{lr+}.m.test", "y.x.m.test"},
    {"delimiter ,", "192.0.2.1", "x,y@example.com", "exists:%{lr,}.m.test", "y.x.m.test"},
    {"delimiter /", "192.0.2.1", "x/y@example.com", "exists:%{lr/}.m.test", "y.x.m.test"},
    {"delimiter _", "192.0.2.1", "x_y@example.com", "exists:%{lr_}.m.test", "y.x.m.test"},
    {"delimiter =", "192.0.2.1", "x=y@example.com", "exists:%{lr=}.m.test", "y.x.m.test"},
    {"all delimiters", "192.0.2.1", "a.b-c+d,e/f_g=h@example.com", "exists:%{lr.-+,/_=}.m.test",
     "h.g.f.e.d.c.b.a.m.test"},
    {"all delimiters, 3", "192.0.2.1", "a.b-c+d,e/f_g=h@example.com", "exists:%{l3.-+,/_=}.m.test",
     "f.g.h.m.test"},
    {"upper case URL-escapes", "192.0.2.1", "x+y@example.com", "exists:%{L}.m.test",
     "x%2By.m.test"},
    {"upper case S escapes @", "192.0.2.1", "x@example.com", "exists:%{S}.m.test",
     "x%40example.com.m.test"},
    {"upper case with transformers", "192.0.2.1", NULL, "exists:%{D2R}.m.test",
     "com.example.m.test"},
    {"escapes %% %- in a name", "192.0.2.1", NULL, "exists:%{d2}.%%.%-.m.test",
     "example.com.%.%20.m.test"},
    {"include", "192.0.2.1", NULL, "include:%{i4}._inc.m.test", NULL},
    {"a", "192.0.2.1", NULL, "a:%{d2}._a.m.test", NULL},
    {"a/0", "192.0.2.1", NULL, "a:%{d2}._a.m.test/0", NULL},
    {"a/24", "192.0.2.9", NULL, "a:%{d2}._a.m.test/24", NULL},
    {"mx", "192.0.2.1", NULL, "mx:%{d2}._mx.m.test", NULL},
    {"ptr", "192.0.2.1", NULL, "ptr:%{d2}", NULL},
    {"redirect", "192.0.2.1", NULL, "redirect=%{i4}._r.m.test", NULL},
};

/* the zone of every macro row: the names each domain-spec row must reach */
static const char *const macro_zone[] = {
    "1.2.0.192.in-addr.arpa|PTR|mail.example.com",   "mail.example.com|A|192.0.2.1",
    "192.0.2.1._inc.m.test|T|v=spf1 +all",           "example.com._a.m.test|A|192.0.2.1",
    "example.com._mx.m.test|MX|10 mail.example.com", "192.0.2.1._r.m.test|T|v=spf1 +all",
};

static void
test_spf_check_macros_expand_every_letter_and_transformer(void **state)
{
    int failed = 0;
    (void)state;
    for (size_t k = 0; k < SM_ARRAY_LEN(macro_checks); k++) {
        const char *zone[SM_ARRAY_LEN(macro_zone) + 3];
        char rec[300], a[300];
        size_t n = 0;
        spf_ctx *ctx;
        spf_detail d;
        spf_result r;
        for (size_t i = 0; i < SM_ARRAY_LEN(macro_zone); i++)
            zone[n++] = macro_zone[i];
        snprintf(rec, sizeof(rec), "example.com|T|v=spf1 %s%s", macro_checks[k].record,
                 strstr(macro_checks[k].record, "redirect=") ? "" : " -all"); /* 6.1 */
        zone[n++] = rec;
        if (macro_checks[k].name != NULL) {
            snprintf(a, sizeof(a), "%s|A|127.0.0.2", macro_checks[k].name);
            zone[n++] = a;
        }
        zone[n] = NULL;
        ctx = zone_ctx(zone);
        r = spf_check(ctx, macro_checks[k].ip, "example.com", macro_checks[k].sender,
                      "mail.example.org", 0, &d);
        if (r != SPF_R_PASS) {
            print_error("%s: '%s' gave %s (%s), want pass via %s\n", macro_checks[k].what,
                        macro_checks[k].record, spf_result_name(r), d.reason,
                        macro_checks[k].name ? macro_checks[k].name : "its zone");
            failed++;
        }
        spf_ctx_free(ctx);
    }
    assert_int_equal(failed, 0);
}

/* exp= is a domain-spec too: the explanation comes from the correctly expanded name */
static void
test_spf_check_exp_domain_spec_macros_are_expanded(void **state)
{
    static const char *const zone[] = {
        "example.com|T|v=spf1 -all exp=%{d2}._e.%{i4}.m.test",
        "example.com._e.192.0.2.1.m.test|T|%{c} via %{h2} at %{d2}, %{r} recv, t=%{t}",
        NULL,
    };
    spf_ctx *ctx = zone_ctx(zone);
    spf_detail d;
    (void)state;
    assert_int_equal(spf_check(ctx, "192.0.2.1", "example.com", NULL, "mail.example.org", 0, &d),
                     SPF_R_FAIL);
    if (strncmp(d.explanation, "192.0.2.1 via example.org at example.com, unknown recv, t=", 58) !=
            0 ||
        strspn(d.explanation + 58, "0123456789") != strlen(d.explanation + 58) ||
        d.explanation[58] == '\0')
        fail_msg("explanation '%s'", d.explanation);
    spf_ctx_free(ctx);
}

static void
test_spf_check_ips_returns_worst(void **state)
{
    spf_ctx *ctx = zone1_ctx();
    const char *const ips[] = {"192.0.2.7", "198.51.100.7", "192.0.2.8"};
    spf_detail d;
    (void)state;
    assert_int_equal(spf_check_ips(ctx, ips, 3, "pass.example.com", NULL, NULL, 0, &d), SPF_R_FAIL);
    assert_string_equal(d.ip, "198.51.100.7");
    assert_int_equal(spf_check_ips(ctx, ips, 1, "pass.example.com", NULL, NULL, 0, &d), SPF_R_PASS);
    assert_int_equal(spf_check_ips(ctx, ips, 0, "pass.example.com", NULL, NULL, 0, &d), SPF_R_NONE);
    spf_ctx_free(ctx);
}

static void
test_spf_check_past_deadline_is_temperror(void **state)
{
    spf_ctx *ctx = zone1_ctx();
    (void)state;
    assert_int_equal(spf_check(ctx, "192.0.2.7", "pass.example.com", NULL, NULL, 1, NULL),
                     SPF_R_TEMPERROR);
    spf_ctx_free(ctx);
}

static void *
thread_checks(void *arg)
{
    spf_ctx *ctx = arg;
    for (int i = 0; i < 300; i++) {
        if (spf_check(ctx, "192.0.2.7", "inc10.example.com", NULL, NULL, 0, NULL) != SPF_R_FAIL ||
            spf_check(ctx, "192.0.2.7", "inc11.example.com", NULL, NULL, 0, NULL) !=
                SPF_R_PERMERROR ||
            spf_check(ctx, "192.0.2.7", "pass.example.com", NULL, NULL, 0, NULL) != SPF_R_PASS)
            return (void *)1;
    }
    return NULL;
}

static void
test_spf_check_shared_context_counts_per_thread(void **state)
{
    spf_ctx *ctx = zone1_ctx_cached(1); /* the shared libspf2 cache layer too */
    pthread_t th[4];
    void *ret;
    (void)state;
    for (int i = 0; i < 4; i++)
        assert_int_equal(pthread_create(&th[i], NULL, thread_checks, ctx), 0);
    for (int i = 0; i < 4; i++) {
        assert_int_equal(pthread_join(th[i], &ret), 0);
        assert_null(ret);
    }
    spf_ctx_free(ctx);
}

static void
test_spf_ctx_new_builds_resolver_stack_or_refuses_bad_options(void **state)
{
    spf_opts o;
    char err[200] = "";
    spf_ctx *ctx;
    (void)state;
    ctx = spf_ctx_new(NULL, err, sizeof(err));
    assert_non_null(ctx);
    spf_ctx_free(ctx);
    spf_opts_defaults(&o);
    o.use_system_resolver = 0;
    assert_null(spf_ctx_new(&o, err, sizeof(err)));
    assert_true(err[0] != '\0');
    assert_null(spf_ctx_new_dns(&o, NULL, err, sizeof(err)));
    o.use_system_resolver = 1;
    o.max_dns_mechanisms = 0;
    err[0] = '\0';
    assert_null(spf_ctx_new(&o, err, sizeof(err)));
    assert_non_null(strstr(err, "max_dns_mechanisms"));
    spf_opts_defaults(&o);
    o.cache_bits = 17;
    assert_int_equal(spf_opts_validate(&o, err, sizeof(err)), -1);
    o.cache_bits = 16;
    assert_int_equal(spf_opts_validate(&o, err, sizeof(err)), 0);
    /* a refused option frees the DNS layer handed over (valgrind checks) */
    o.max_void_lookups = -1;
    assert_null(spf_ctx_new_dns(&o, SPF_dns_zone_new(NULL, "x", 0), err, sizeof(err)));
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_spf_syntax_accepts_valid_records),
        cmocka_unit_test(test_spf_syntax_rejects_invalid_records_with_reason),
        cmocka_unit_test(test_spf_syntax_random_records_never_crash_and_give_permerror),
        cmocka_unit_test(test_spf_syntax_rewrite_gives_libspf2_equivalent),
        cmocka_unit_test(test_spf_syntax_expand_matches_rfc7208_examples),
        cmocka_unit_test(test_spf_dns_name_prepare_truncates_left_and_refuses_bad_labels),
        cmocka_unit_test(test_spf_result_names_round_trip),
        cmocka_unit_test(test_spf_ip_usable_refuses_loopback_and_junk),
        cmocka_unit_test(test_spf_check_applies_adapter_checks),
        cmocka_unit_test(test_spf_check_malformed_names_count_as_void_lookups),
        cmocka_unit_test(test_spf_check_explanation_is_expanded),
        cmocka_unit_test(test_spf_check_macros_expand_every_letter_and_transformer),
        cmocka_unit_test(test_spf_check_exp_domain_spec_macros_are_expanded),
        cmocka_unit_test(test_spf_check_ips_returns_worst),
        cmocka_unit_test(test_spf_check_past_deadline_is_temperror),
        cmocka_unit_test(test_spf_check_shared_context_counts_per_thread),
        cmocka_unit_test(test_spf_ctx_new_builds_resolver_stack_or_refuses_bad_options),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
