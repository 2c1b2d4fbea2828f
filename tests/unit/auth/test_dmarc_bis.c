/*
 * test_dmarc_bis.c - RFC 9989 (DMARCbis) tree walk, discovery and alignment beside RFC 7489
 *
 * Table-driven vectors over a fake DNS table (names not in it are NXDOMAIN;
 * "NODATA" and "TEMPFAIL" entries answer so): the walk's queries in order
 * (the 8-label limit), psd=y public suffix domains (at a TLD and in a
 * private registry), psd=n stopping the walk, np= for non-existent
 * subdomains (NXDOMAIN, or NODATA for A, AAAA and MX) against existing ones
 * (an A or MX record), t=y, several
 * records at one name, a record RFC 7489 refuses but RFC 9989 reads (pct),
 * RFC 7489's pct still applied, and records whose Organizational Domain
 * differs between the Public Suffix List and the walk.  Then the alignment
 * prediction with alignment.dmarc.method = both: the disagreement in the
 * advice and the result header, and alignment.dmarc.deciding.
 */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/nameser.h>
#include <cmocka.h>
#include <libconfig.h>

#include "auth/align.h"
#include "auth/dmarc.h"
#include "lib/dns.h"
#include "lib/domain_psl.h"
#include "lib/domain_walk.h"
#include "ses-milter/plugin.h"
#include "lib/util.h"

static const struct zone_rr {
    const char *name;
    dns_status st;
    const char *txt[2];
} zone[] = {
    {"_dmarc.example.com", DNS_OK, {"v=DMARC1; p=reject; sp=quarantine", NULL}},
    {"_dmarc.mail.example.com", DNS_OK, {"v=DMARC1; p=none", NULL}},
    /* a public suffix domain at a TLD, and a private registry that says psd=y */
    {"_dmarc.bank", DNS_OK, {"v=DMARC1; p=reject; psd=y", NULL}},
    {"_dmarc.registry.example", DNS_OK, {"v=DMARC1; p=quarantine; psd=y", NULL}},
    /* psd=n: the walk stops below example.net's own record */
    {"_dmarc.corp.example.net", DNS_OK, {"v=DMARC1; p=reject; psd=n", NULL}},
    {"_dmarc.example.net", DNS_OK, {"v=DMARC1; p=none", NULL}},
    /* np=: gone.np.example does not exist (NXDOMAIN), www.np.example does (NODATA) */
    {"_dmarc.np.example", DNS_OK, {"v=DMARC1; p=quarantine; sp=none; np=reject", NULL}},
    {"www.np.example", DNS_NODATA, {NULL, NULL}},
    {"txt.np.example", DNS_OK, {"v=spf1 -all", NULL}}, /* TXT only: no A, AAAA, MX */
    {"_dmarc.testing.example", DNS_OK, {"v=DMARC1; p=reject; t=y", NULL}},
    {"_dmarc.pct.example", DNS_OK, {"v=DMARC1; p=reject; pct=0", NULL}},
    {"_dmarc.badpct.example", DNS_OK, {"v=DMARC1; p=reject; pct=1000", NULL}},
    {"_dmarc.multi.example.org", DNS_OK, {"v=DMARC1; p=none", "v=DMARC1; p=quarantine"}},
    {"_dmarc.example.org", DNS_OK, {"v=DMARC1; p=reject", NULL}},
    {"_dmarc.own.tmp", DNS_OK, {"v=DMARC1; p=reject", NULL}},
    {"_dmarc.tmp", DNS_TEMPFAIL, {NULL, NULL}},
};

static char asked[4096]; /* the names the resolver was asked, space-separated */

static dns_status
zone_resolve(void *arg SM_UNUSED, const char *name, uint64_t deadline SM_UNUSED, dns_txt **txt_r,
             uint32_t *ttl_r)
{
    *ttl_r = 300;
    snprintf(asked + strlen(asked), sizeof(asked) - strlen(asked), "%s%s", *asked ? " " : "", name);
    for (size_t i = 0; i < SM_ARRAY_LEN(zone); i++) {
        if (strcmp(zone[i].name, name) != 0)
            continue;
        if (zone[i].st == DNS_OK) {
            *txt_r = dns_txt_new();
            for (int k = 0; k < 2 && zone[i].txt[k]; k++)
                dns_txt_add(*txt_r, zone[i].txt[k], strlen(zone[i].txt[k]));
        }
        return zone[i].st;
    }
    return DNS_NXDOMAIN;
}

/* A, AAAA and MX answers for the np= cases; any other name: NXDOMAIN */
static const struct has_rr {
    const char *name;
    int qtype;
    dns_status st;
} has_zone[] = {
    {"www.np.example", ns_t_a, DNS_OK},       {"mx.np.example", ns_t_a, DNS_NODATA},
    {"mx.np.example", ns_t_aaaa, DNS_NODATA}, {"mx.np.example", ns_t_mx, DNS_OK},
    {"txt.np.example", ns_t_a, DNS_NODATA},   {"txt.np.example", ns_t_aaaa, DNS_NODATA},
    {"txt.np.example", ns_t_mx, DNS_NODATA},
};

static dns_status
has_resolve(void *arg SM_UNUSED, const char *name, int qtype, uint64_t deadline SM_UNUSED,
            uint32_t *ttl_r)
{
    *ttl_r = 300;
    for (size_t i = 0; i < SM_ARRAY_LEN(has_zone); i++)
        if (strcmp(has_zone[i].name, name) == 0 && has_zone[i].qtype == qtype)
            return has_zone[i].st;
    return DNS_NXDOMAIN;
}

/* a fresh cache over the table (so that the resolver sees every query) */
static dns_cache *
zone_cache(void)
{
    dns_cache *c = dns_cache_new(NULL);

    dns_cache_set_resolver(c, zone_resolve, NULL);
    dns_cache_set_has_resolver(c, has_resolve, NULL);
    asked[0] = '\0';
    return c;
}

static void
test_dmarc_bis_walk_table(void **state SM_UNUSED)
{
    static const struct {
        const char *start;
        domain_walk_status st;
        const char *org;
        const char *queries; /* every _dmarc query, in order */
    } cases[] = {
        /* records at mail.example.com and example.com: the fewest labels win */
        {"a.mail.example.com", DOMAIN_WALK_OK, "example.com",
         "_dmarc.a.mail.example.com _dmarc.mail.example.com _dmarc.example.com _dmarc.com"},
        /* 9 labels: the full name, then straight to the last 7 labels: 8 queries */
        {"a.b.c.d.e.f.g.example.com", DOMAIN_WALK_OK, "example.com",
         "_dmarc.a.b.c.d.e.f.g.example.com _dmarc.c.d.e.f.g.example.com "
         "_dmarc.d.e.f.g.example.com _dmarc.e.f.g.example.com _dmarc.f.g.example.com "
         "_dmarc.g.example.com _dmarc.example.com _dmarc.com"},
        /* exactly 8 labels: shortened to 7 too */
        {"b.c.d.e.f.g.example.com", DOMAIN_WALK_OK, "example.com",
         "_dmarc.b.c.d.e.f.g.example.com _dmarc.c.d.e.f.g.example.com "
         "_dmarc.d.e.f.g.example.com _dmarc.e.f.g.example.com _dmarc.f.g.example.com "
         "_dmarc.g.example.com _dmarc.example.com _dmarc.com"},
        /* 13 labels: still 8 queries */
        {"1.2.3.4.5.6.a.b.c.d.e.example.com", DOMAIN_WALK_OK, "example.com",
         "_dmarc.1.2.3.4.5.6.a.b.c.d.e.example.com _dmarc.a.b.c.d.e.example.com "
         "_dmarc.b.c.d.e.example.com _dmarc.c.d.e.example.com _dmarc.d.e.example.com "
         "_dmarc.e.example.com _dmarc.example.com _dmarc.com"},
        /* psd=y at a TLD: the domain one label below it */
        {"x.y.bank", DOMAIN_WALK_OK, "y.bank", "_dmarc.x.y.bank _dmarc.y.bank _dmarc.bank"},
        /* psd=y at the start is no boundary: the name is its own org domain */
        {"bank", DOMAIN_WALK_OK, "bank", "_dmarc.bank"},
        /* a private registry with psd=y (the PSL says registry.example) */
        {"shop.registry.example", DOMAIN_WALK_OK, "shop.registry.example",
         "_dmarc.shop.registry.example _dmarc.registry.example"},
        /* psd=n stops the walk before example.net's record */
        {"a.corp.example.net", DOMAIN_WALK_OK, "corp.example.net",
         "_dmarc.a.corp.example.net _dmarc.corp.example.net"},
        /* no record anywhere: the name itself */
        {"nothing.example", DOMAIN_WALK_OK, "nothing.example",
         "_dmarc.nothing.example _dmarc.example"},
        /* a temporary failure stops the walk: what lies above is unknown */
        {"sub.own.tmp", DOMAIN_WALK_TEMPFAIL, "", "_dmarc.sub.own.tmp _dmarc.own.tmp _dmarc.tmp"},
        {"bad..name", DOMAIN_WALK_BAD_NAME, "", ""},
    };

    for (size_t i = 0; i < SM_ARRAY_LEN(cases); i++) {
        dns_cache *c = zone_cache();
        domain_walk w;
        domain_walk_status st = domain_walk_run(c, cases[i].start, 0, dmarc_walk_reader, &w);

        if (st != cases[i].st || (st == DOMAIN_WALK_OK && strcmp(w.org, cases[i].org) != 0) ||
            strcmp(asked, cases[i].queries) != 0)
            fail_msg("case %zu %s: status %d org %s queries \"%s\"", i, cases[i].start, st, w.org,
                     asked);
        assert_true(w.nsteps <= DOMAIN_WALK_MAX);
        domain_walk_clear(&w);
        dns_cache_free(c);
    }
}

static void
test_dmarc_bis_discovery_both_methods_table(void **state SM_UNUSED)
{
    static const struct {
        const char *from;
        dmarc_disc_status st7489, st9989;
        const char *where7489, *where9989;
        dmarc_policy applied7489, applied9989; /* after pct / t= (dmarc_disposition) */
        const char *org9989;
        int differ;
    } cases[] = {
        /* the same answer both ways */
        {"example.com", DMARC_DISC_FOUND, DMARC_DISC_FOUND, "_dmarc.example.com",
         "_dmarc.example.com", DMARC_POLICY_REJECT, DMARC_POLICY_REJECT, "example.com", 0},
        {"news.example.com", DMARC_DISC_FOUND, DMARC_DISC_FOUND, "_dmarc.example.com",
         "_dmarc.example.com", DMARC_POLICY_QUARANTINE, DMARC_POLICY_QUARANTINE, "example.com", 0},
        /* an intermediate record: RFC 7489 never looks at it; the walk's org domain is
         * example.com, whose record applies (sp=quarantine) in both */
        {"a.mail.example.com", DMARC_DISC_FOUND, DMARC_DISC_FOUND, "_dmarc.example.com",
         "_dmarc.example.com", DMARC_POLICY_QUARANTINE, DMARC_POLICY_QUARANTINE, "example.com", 0},
        /* a PSD policy at a TLD: RFC 7489 knows none, RFC 9989 applies it (np=, nothing
         * exists: p) */
        {"y.bank", DMARC_DISC_NONE, DMARC_DISC_FOUND, "_dmarc.y.bank", "_dmarc.bank",
         DMARC_POLICY_UNSPEC, DMARC_POLICY_REJECT, "y.bank", 1},
        /* a private registry with psd=y: RFC 7489 takes it for the org domain */
        {"shop.registry.example", DMARC_DISC_FOUND, DMARC_DISC_FOUND, "_dmarc.registry.example",
         "_dmarc.registry.example", DMARC_POLICY_QUARANTINE, DMARC_POLICY_QUARANTINE,
         "shop.registry.example", 1},
        /* psd=n: the walk stops at corp.example.net (RFC 7489: example.net, p=none) */
        {"a.corp.example.net", DMARC_DISC_FOUND, DMARC_DISC_FOUND, "_dmarc.example.net",
         "_dmarc.corp.example.net", DMARC_POLICY_NONE, DMARC_POLICY_REJECT, "corp.example.net", 1},
        /* np=: a non-existent subdomain (NXDOMAIN) gets np=reject under RFC 9989 ... */
        {"gone.np.example", DMARC_DISC_FOUND, DMARC_DISC_FOUND, "_dmarc.np.example",
         "_dmarc.np.example", DMARC_POLICY_NONE, DMARC_POLICY_REJECT, "np.example", 1},
        /* ... and so does one that exists with TXT records only (NODATA for A, AAAA and
         * MX: RFC 9989 section 3.2) ... */
        {"txt.np.example", DMARC_DISC_FOUND, DMARC_DISC_FOUND, "_dmarc.np.example",
         "_dmarc.np.example", DMARC_POLICY_NONE, DMARC_POLICY_REJECT, "np.example", 1},
        /* ... one with an MX record exists: sp=none both ways */
        {"mx.np.example", DMARC_DISC_FOUND, DMARC_DISC_FOUND, "_dmarc.np.example",
         "_dmarc.np.example", DMARC_POLICY_NONE, DMARC_POLICY_NONE, "np.example", 0},
        /* ... as does one with an A record */
        {"www.np.example", DMARC_DISC_FOUND, DMARC_DISC_FOUND, "_dmarc.np.example",
         "_dmarc.np.example", DMARC_POLICY_NONE, DMARC_POLICY_NONE, "np.example", 0},
        /* t=y: RFC 9989 receivers apply the next lower policy; RFC 7489 ignores t= */
        {"testing.example", DMARC_DISC_FOUND, DMARC_DISC_FOUND, "_dmarc.testing.example",
         "_dmarc.testing.example", DMARC_POLICY_REJECT, DMARC_POLICY_QUARANTINE, "testing.example",
         1},
        /* pct=0 is applied by RFC 7489 (the next lower policy) and gone in RFC 9989 */
        {"pct.example", DMARC_DISC_FOUND, DMARC_DISC_FOUND, "_dmarc.pct.example",
         "_dmarc.pct.example", DMARC_POLICY_QUARANTINE, DMARC_POLICY_REJECT, "pct.example", 1},
        /* pct=1000 makes the record invalid for RFC 7489 only */
        {"badpct.example", DMARC_DISC_INVALID, DMARC_DISC_FOUND, "_dmarc.badpct.example",
         "_dmarc.badpct.example", DMARC_POLICY_UNSPEC, DMARC_POLICY_REJECT, "badpct.example", 1},
        /* two records: RFC 7489 stops, RFC 9989 discards them and walks on */
        {"multi.example.org", DMARC_DISC_MULTIPLE, DMARC_DISC_FOUND, "_dmarc.multi.example.org",
         "_dmarc.example.org", DMARC_POLICY_UNSPEC, DMARC_POLICY_REJECT, "example.org", 1},
        /* the From domain's own record survives a failure higher up ... */
        {"own.tmp", DMARC_DISC_FOUND, DMARC_DISC_FOUND, "_dmarc.own.tmp", "_dmarc.own.tmp",
         DMARC_POLICY_REJECT, DMARC_POLICY_REJECT, "own.tmp", 0},
        /* ... an inherited one does not */
        {"sub.own.tmp", DMARC_DISC_FOUND, DMARC_DISC_TEMPFAIL, "_dmarc.own.tmp", "_dmarc.tmp",
         DMARC_POLICY_REJECT, DMARC_POLICY_UNSPEC, "sub.own.tmp", 1},
        {"nothing.example", DMARC_DISC_NONE, DMARC_DISC_NONE, "_dmarc.nothing.example",
         "_dmarc.nothing.example", DMARC_POLICY_UNSPEC, DMARC_POLICY_UNSPEC, "nothing.example", 0},
    };

    for (size_t i = 0; i < SM_ARRAY_LEN(cases); i++) {
        dns_cache *c = zone_cache();
        dmarc_compare cmp;
        dmarc_policy a7 = DMARC_POLICY_UNSPEC, a9 = DMARC_POLICY_UNSPEC;
        int differ = dmarc_bis_compare(c, cases[i].from, 0, &cmp);
        const dmarc_lookup *l7 = &cmp.rfc7489, *l9 = &cmp.rfc9989;

        if (l7->status == DMARC_DISC_FOUND)
            dmarc_disposition(l7, &a7, NULL, NULL, 0);
        if (l9->status == DMARC_DISC_FOUND)
            dmarc_disposition(l9, &a9, NULL, NULL, 0);
        if (l7->status != cases[i].st7489 || l9->status != cases[i].st9989 ||
            strcmp(l7->where, cases[i].where7489) != 0 ||
            strcmp(l9->where, cases[i].where9989) != 0 || a7 != cases[i].applied7489 ||
            a9 != cases[i].applied9989 || strcmp(l9->org_domain, cases[i].org9989) != 0 ||
            differ != cases[i].differ)
            fail_msg("case %zu %s: 7489 %s at %s applies %s; 9989 %s at %s applies %s org %s; "
                     "differ %d (%s)",
                     i, cases[i].from, dmarc_disc_status_name(l7->status), l7->where,
                     dmarc_policy_name(a7), dmarc_disc_status_name(l9->status), l9->where,
                     dmarc_policy_name(a9), l9->org_domain, differ, cmp.text);
        assert_int_equal(l9->method, DMARC_RFC9989);
        if (differ)
            assert_non_null(strstr(cmp.text, "RFC 9989 finds"));
        else
            assert_string_equal(cmp.text, "");
        dns_cache_free(c);
    }
}

static void
test_dmarc_bis_parse_tags_by_method(void **state SM_UNUSED)
{
    static const char rec[] = "v=DMARC1; p=reject; np=quarantine; psd=n; t=y; pct=20";
    dmarc_record r;

    assert_int_equal(dmarc_record_parse_method(rec, strlen(rec), DMARC_RFC9989, &r, NULL, 0),
                     DMARC_PARSE_OK);
    assert_int_equal(r.np, DMARC_POLICY_QUARANTINE);
    assert_int_equal(r.psd, DMARC_PSD_N);
    assert_int_equal(r.t, 1);
    assert_int_equal(r.pct, 100); /* pct is not an RFC 9989 tag */
    assert_int_equal(dmarc_record_parse(rec, strlen(rec), &r, NULL, 0), DMARC_PARSE_OK);
    assert_int_equal(r.np, DMARC_POLICY_UNSPEC); /* np, psd, t are not RFC 7489 tags */
    assert_int_equal(r.psd, DMARC_PSD_U);
    assert_int_equal(r.t, 0);
    assert_int_equal(r.pct, 20);
    /* an invalid np= is an invalid sp=: p=none with a valid rua, else refused */
    assert_int_equal(
        dmarc_record_parse_method("v=DMARC1; p=reject; np=bogus", 28, DMARC_RFC9989, &r, NULL, 0),
        DMARC_PARSE_BAD_VALUE);
    assert_int_equal(dmarc_record_parse("v=DMARC1; p=reject; np=bogus", 28, &r, NULL, 0),
                     DMARC_PARSE_OK);
}

static int
conf_from(const char *text, align_conf **out)
{
    char err[256];
    config_t cfg;
    int rc;

    config_init(&cfg);
    if (!config_read_string(&cfg, text))
        fail_msg("syntax: %s", config_error_text(&cfg));
    rc = align_conf_parse(config_lookup(&cfg, "alignment"), out, err, sizeof(err));
    config_destroy(&cfg);
    if (rc < 0)
        fail_msg("%s", err);
    return rc;
}

/* From shop.registry.example signed by d=other.registry.example: aligned by the PSL,
 * not by the walk (registry.example says psd=y) */
static void
test_dmarc_bis_align_methods_disagree_table(void **state SM_UNUSED)
{
    static const struct {
        const char *conf;
        dmarc_method decided;
        align_dmarc_result result, other;
        align_decision decision;
    } cases[] = {
        {"alignment: { relay = \"direct\"; action = \"enforce\"; };", DMARC_RFC7489,
         ALIGN_DMARC_PASS, ALIGN_DMARC_FAIL, ALIGN_ACCEPT},
        {"alignment: { relay = \"direct\"; action = \"enforce\"; dmarc: { deciding = "
         "\"rfc9989\"; }; };",
         DMARC_RFC9989, ALIGN_DMARC_FAIL, ALIGN_DMARC_PASS, ALIGN_REJECT},
        {"alignment: { relay = \"direct\"; action = \"enforce\"; dmarc: { deciding = "
         "\"strictest\"; }; };",
         DMARC_RFC9989, ALIGN_DMARC_FAIL, ALIGN_DMARC_PASS, ALIGN_REJECT},
    };
    align_dkim_sig sig = {"other.registry.example", "s1", 1};

    for (size_t i = 0; i < SM_ARRAY_LEN(cases); i++) {
        dns_cache *c = zone_cache();
        align_conf *conf = NULL;
        align_result *r = xcalloc(1, sizeof(*r));
        align_facts f;
        char hdr[1024], want[128];

        conf_from(cases[i].conf, &conf);
        align_facts_init(&f, conf);
        f.from_domain = "shop.registry.example";
        f.envelope_domain = "";
        f.sigs = &sig;
        f.nsigs = 1;
        align_check(conf, c, &f, r);
        if (r->method != cases[i].decided || r->dmarc_result != cases[i].result ||
            r->other.result != cases[i].other || r->decision != cases[i].decision ||
            !r->other.differ)
            fail_msg("case %zu: %s decided %s, other %s, decision %s", i,
                     dmarc_method_name(r->method), align_dmarc_result_name(r->dmarc_result),
                     align_dmarc_result_name(r->other.result), align_decision_name(r->decision));
        assert_non_null(strstr(r->reasons[1], "RFC 7489 and RFC 9989 receivers disagree"));
        align_header_value(r, hdr, sizeof(hdr));
        snprintf(want, sizeof(want), " method=%s %s=%s", dmarc_method_name(r->method),
                 dmarc_method_name(r->other.method), align_dmarc_result_name(r->other.result));
        if (strstr(hdr, want) == NULL)
            fail_msg("case %zu: header \"%s\" lacks \"%s\"", i, hdr, want);
        free(r);
        align_conf_free(conf);
        dns_cache_free(c);
    }
}

/* a single method: no second prediction, no disagreement; RFC 7489's pct still applies */
static void
test_dmarc_bis_align_single_method_keeps_pct(void **state SM_UNUSED)
{
    static const struct {
        const char *method;
        dmarc_policy receiver;
    } cases[] = {
        {"rfc7489", DMARC_POLICY_QUARANTINE}, /* p=reject; pct=0: the next lower policy */
        {"rfc9989", DMARC_POLICY_REJECT},     /* pct is gone */
    };

    for (size_t i = 0; i < SM_ARRAY_LEN(cases); i++) {
        char text[256];
        dns_cache *c = zone_cache();
        align_conf *conf = NULL;
        align_result *r = xcalloc(1, sizeof(*r));
        align_facts f;

        snprintf(text, sizeof(text),
                 "alignment: { relay = \"direct\"; dmarc: { method = \"%s\"; }; };",
                 cases[i].method);
        conf_from(text, &conf);
        align_facts_init(&f, conf);
        f.from_domain = "pct.example";
        f.envelope_domain = "";
        align_check(conf, c, &f, r);
        assert_int_equal(r->dmarc_result, ALIGN_DMARC_FAIL);
        assert_int_equal(r->receiver_policy, cases[i].receiver);
        assert_false(r->other.evaluated);
        free(r);
        align_conf_free(conf);
        dns_cache_free(c);
    }
}

/* RFC 9989 relaxed alignment when the walks cannot reach the top (_dmarc.tmp fails) */
static void
test_dmarc_bis_align_walk_failures_table(void **state SM_UNUSED)
{
    static const struct {
        const char *from, *d;
        align_dmarc_result result;
    } cases[] = {
        /* both walks fail at _dmarc.tmp, above their common suffix own.tmp, and agree
         * below it: whatever _dmarc.tmp says, they align */
        {"own.tmp", "mail.own.tmp", ALIGN_DMARC_PASS},
        /* only the TLD in common: never one Organizational Domain, no walk needed */
        {"own.tmp", "other.tmp", ALIGN_DMARC_FAIL},
        /* the From domain's policy is inherited and _dmarc.tmp fails: unknown */
        {"sub.own.tmp", "own.tmp", ALIGN_DMARC_TEMPERROR},
    };
    static const char conf_text[] =
        "alignment: { relay = \"direct\"; dmarc: { method = \"rfc9989\"; }; };";

    for (size_t i = 0; i < SM_ARRAY_LEN(cases); i++) {
        align_dkim_sig sig = {cases[i].d, "s1", 1};
        dns_cache *c = zone_cache();
        align_conf *conf = NULL;
        align_result *r = xcalloc(1, sizeof(*r));
        align_facts f;

        conf_from(conf_text, &conf);
        align_facts_init(&f, conf);
        f.from_domain = cases[i].from;
        f.envelope_domain = "";
        f.sigs = &sig;
        f.nsigs = 1;
        align_check(conf, c, &f, r);
        if (r->dmarc_result != cases[i].result)
            fail_msg("case %zu %s d=%s: %s (%s)", i, cases[i].from, cases[i].d,
                     align_dmarc_result_name(r->dmarc_result), r->reasons[0]);
        free(r);
        align_conf_free(conf);
        dns_cache_free(c);
    }
}

/* asked_count - how many queries the resolver got since zone_cache() */
static size_t
asked_count(void)
{
    size_t n = *asked ? 1 : 0;

    for (const char *p = asked; *p; p++)
        n += *p == ' ';
    return n;
}

/* both methods for a 9-label From through SES: a cold message asks each name once (the
 * walk's eight at most, shared with RFC 7489's two; amazonses.com, sharing only "com", is
 * not walked), a warm one asks nothing */
static void
test_dmarc_bis_align_queries_bounded_and_cached(void **state SM_UNUSED)
{
    static const char from[] = "a.b.c.d.e.f.g.example.com";
    sm_id_attrs ses;
    dns_cache *c = zone_cache();
    align_result *r = xcalloc(1, sizeof(*r));
    align_facts f;
    size_t cold, warm;

    memset(&ses, 0, sizeof(ses));
    util_strlcpy(ses.identity, from, sizeof(ses.identity));
    ses.dkim_signing_enabled = 1;
    util_strlcpy(ses.dkim_status, "SUCCESS", sizeof(ses.dkim_status));
    align_facts_init(&f, NULL);
    f.relay = ALIGN_RELAY_SES;
    f.ses = &ses;
    f.from_domain = from;
    align_check(NULL, c, &f, r);
    cold = asked_count();
    assert_int_equal(r->dmarc_result, ALIGN_DMARC_PASS);
    assert_true(r->other.evaluated);
    asked[0] = '\0';
    align_check(NULL, c, &f, r);
    warm = asked_count();
    printf("DNS queries per message, both methods: cold %zu, warm %zu (%s)\n", cold, warm, asked);
    assert_true(cold <= DOMAIN_WALK_MAX);
    assert_int_equal(warm, 0);
    free(r);
    dns_cache_free(c);
}

static int
setup(void **state SM_UNUSED)
{
    char err[256];
    return domain_psl_load(DOMAIN_PSL_SYSTEM_FILE, err, sizeof(err));
}

static int
teardown(void **state SM_UNUSED)
{
    domain_psl_unload();
    return 0;
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_dmarc_bis_walk_table),
        cmocka_unit_test(test_dmarc_bis_discovery_both_methods_table),
        cmocka_unit_test(test_dmarc_bis_parse_tags_by_method),
        cmocka_unit_test(test_dmarc_bis_align_methods_disagree_table),
        cmocka_unit_test(test_dmarc_bis_align_single_method_keeps_pct),
        cmocka_unit_test(test_dmarc_bis_align_walk_failures_table),
        cmocka_unit_test(test_dmarc_bis_align_queries_bounded_and_cached),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
