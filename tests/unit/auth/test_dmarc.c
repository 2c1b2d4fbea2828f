/*
 * test_dmarc.c - DMARC record parsing, policy discovery and alignment
 *
 * External suite: $(SM_TESTDATA)/dmarc/opendmarc/vectors.yaml (read with
 * libyaml): record_parse, alignment and organizational_domain; the
 * from_header_domain section belongs to the address parser and is skipped.
 * Prints "opendmarc vectors: N/M".  Every case where this implementation
 * deliberately differs from OpenDMARC is listed in 'deviations' with the
 * reason; the test fails on any other mismatch.
 * Own tables: parser details and discovery over an injected resolver.
 */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>
#include <yaml.h>

#include "auth/dmarc.h"
#include "lib/dns.h"
#include "lib/domain_psl.h"
#include "lib/util.h"
#include "testdata.h"

/* documented differences from OpenDMARC */
static const struct {
    const char *section;
    long id;
    const char *ours; /* the outcome this implementation gives */
    const char *why;
} deviations[] = {
    {"record_parse", 5, "DMARC_PARSE_ERROR_BAD_VALUE",
     "OpenDMARC reads only the first letter of p=; RFC 7489 section 6.3 allows only none, "
     "quarantine and reject, so a strict parser refuses p=n (the practical effect is the "
     "same: no enforcement)"},
};

/* ---- a tiny view over a libyaml document ---- */

static yaml_node_t *
ymap_get(yaml_document_t *d, yaml_node_t *map, const char *key)
{
    if (map == NULL || map->type != YAML_MAPPING_NODE)
        return NULL;
    for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top;
         p++) {
        yaml_node_t *k = yaml_document_get_node(d, p->key);
        if (k && k->type == YAML_SCALAR_NODE && strcmp((char *)k->data.scalar.value, key) == 0)
            return yaml_document_get_node(d, p->value);
    }
    return NULL;
}

static const char *
ystr(yaml_document_t *d, yaml_node_t *map, const char *key)
{
    yaml_node_t *n = ymap_get(d, map, key);
    return n && n->type == YAML_SCALAR_NODE ? (const char *)n->data.scalar.value : NULL;
}

static size_t
ylen(yaml_document_t *d, yaml_node_t *map, const char *key)
{
    yaml_node_t *n = ymap_get(d, map, key);
    yaml_node_t *cases = ymap_get(d, n, "cases");
    return cases && cases->type == YAML_SEQUENCE_NODE
               ? (size_t)(cases->data.sequence.items.top - cases->data.sequence.items.start)
               : 0;
}

static yaml_node_t *
ycase(yaml_document_t *d, yaml_node_t *root, const char *section, size_t i)
{
    yaml_node_t *cases = ymap_get(d, ymap_get(d, root, section), "cases");
    return yaml_document_get_node(d, cases->data.sequence.items.start[i]);
}

static const char *
parse_outcome_name(dmarc_parse_status s)
{
    switch (s) {
    case DMARC_PARSE_OK:
        return "DMARC_PARSE_OKAY";
    case DMARC_PARSE_EMPTY:
        return "DMARC_PARSE_ERROR_EMPTY";
    case DMARC_PARSE_BAD_VERSION:
        return "DMARC_PARSE_ERROR_BAD_VERSION";
    case DMARC_PARSE_BAD_SYNTAX:
        return "DMARC_PARSE_ERROR_BAD_SYNTAX";
    case DMARC_PARSE_BAD_VALUE:
        return "DMARC_PARSE_ERROR_BAD_VALUE";
    case DMARC_PARSE_NO_P:
        return "DMARC_PARSE_ERROR_NO_REQUIRED_P";
    }
    return "?";
}

/* score - count one case; a mismatch must be a documented deviation giving 'got' */
static void
score(const char *section, long id, const char *want, const char *got, int *ok, int *dev, int *bad)
{
    if (strcmp(want, got) == 0) {
        (*ok)++;
        return;
    }
    for (size_t i = 0; i < SM_ARRAY_LEN(deviations); i++)
        if (strcmp(deviations[i].section, section) == 0 && deviations[i].id == id &&
            strcmp(deviations[i].ours, got) == 0) {
            printf("  deviation %s %ld: want %s, got %s: %s\n", section, id, want, got,
                   deviations[i].why);
            (*dev)++;
            return;
        }
    printf("  FAIL %s %ld: want %s, got %s\n", section, id, want, got);
    (*bad)++;
}

static void
test_dmarc_opendmarc_vectors(void **state SM_UNUSED)
{
    char path[1024], err[256];
    yaml_parser_t parser;
    yaml_document_t doc;
    yaml_node_t *root;
    int ok = 0, dev = 0, bad = 0, total = 0;
    FILE *fp;

    if (!testdata_have("dmarc/opendmarc/vectors.yaml"))
        skip();
    snprintf(path, sizeof(path), "%s/dmarc/opendmarc/vectors.yaml", testdata_dir());
    fp = fopen(path, "rb");
    if (fp == NULL)
        fail_msg("cannot open %s", path);
    yaml_parser_initialize(&parser);
    yaml_parser_set_input_file(&parser, fp);
    if (!yaml_parser_load(&parser, &doc))
        fail_msg("%s: YAML error: %s", path, parser.problem ? parser.problem : "?");
    root = yaml_document_get_root_node(&doc);

    for (size_t i = 0; i < ylen(&doc, root, "record_parse"); i++, total++) {
        yaml_node_t *c = ycase(&doc, root, "record_parse", i);
        const char *rec = ystr(&doc, c, "record");
        dmarc_record r;
        dmarc_parse_status st = dmarc_record_parse(rec, strlen(rec), &r, err, sizeof(err));
        score("record_parse", atol(ystr(&doc, c, "id")), ystr(&doc, c, "outcome"),
              parse_outcome_name(st), &ok, &dev, &bad);
    }
    for (size_t i = 0; i < ylen(&doc, root, "alignment"); i++, total++) {
        yaml_node_t *c = ycase(&doc, root, "alignment", i);
        dmarc_align_mode m =
            strcmp(ystr(&doc, c, "mode"), "strict") == 0 ? DMARC_ALIGN_STRICT : DMARC_ALIGN_RELAXED;
        int a = dmarc_aligned(ystr(&doc, c, "domain"), ystr(&doc, c, "other"), m);
        score("alignment", atol(ystr(&doc, c, "id")), ystr(&doc, c, "outcome"),
              a ? "aligned" : "not_aligned", &ok, &dev, &bad);
    }
    for (size_t i = 0; i < ylen(&doc, root, "organizational_domain"); i++, total++) {
        yaml_node_t *c = ycase(&doc, root, "organizational_domain", i);
        char got[DOMAIN_MAX] = "(none)";
        domain_psl_registrable(ystr(&doc, c, "domain"), got, sizeof(got));
        score("organizational_domain", atol(ystr(&doc, c, "id")), ystr(&doc, c, "expected"), got,
              &ok, &dev, &bad);
    }
    printf("opendmarc vectors: %d/%d (%d documented deviation%s, %d unexplained)\n", ok, total, dev,
           dev == 1 ? "" : "s", bad);
    yaml_document_delete(&doc);
    yaml_parser_delete(&parser);
    fclose(fp);
    assert_int_equal(total, 32);
    assert_int_equal(bad, 0);
    assert_int_equal(ok + dev, total);
}

/* ---- parser details ---- */

static void
test_dmarc_parse_values_table(void **state SM_UNUSED)
{
    static const struct {
        const char *rec;
        dmarc_parse_status st;
        dmarc_policy p, sp;
        dmarc_align_mode adkim, aspf;
        int pct, p_defaulted;
    } cases[] = {
        {"v=DMARC1; p=reject; sp=none; adkim=s; aspf=s; pct=20", DMARC_PARSE_OK,
         DMARC_POLICY_REJECT, DMARC_POLICY_NONE, DMARC_ALIGN_STRICT, DMARC_ALIGN_STRICT, 20, 0},
        {"v=DMARC1;p=quarantine", DMARC_PARSE_OK, DMARC_POLICY_QUARANTINE, DMARC_POLICY_UNSPEC,
         DMARC_ALIGN_RELAXED, DMARC_ALIGN_RELAXED, 100, 0},
        {"  v = DMARC1 ;  P = Reject ; ADKIM = S ;", DMARC_PARSE_OK, DMARC_POLICY_REJECT,
         DMARC_POLICY_UNSPEC, DMARC_ALIGN_STRICT, DMARC_ALIGN_RELAXED, 100, 0},
        {"v=DMARC1; rua=mailto:d@example.com", DMARC_PARSE_OK, DMARC_POLICY_NONE,
         DMARC_POLICY_UNSPEC, DMARC_ALIGN_RELAXED, DMARC_ALIGN_RELAXED, 100, 1},
        {"v=DMARC1; p=bogus; rua=mailto:d@example.com", DMARC_PARSE_OK, DMARC_POLICY_NONE,
         DMARC_POLICY_UNSPEC, DMARC_ALIGN_RELAXED, DMARC_ALIGN_RELAXED, 100, 1},
        {"v=DMARC1; p=reject; sp=bogus; rua=mailto:d@example.com", DMARC_PARSE_OK,
         DMARC_POLICY_NONE, DMARC_POLICY_UNSPEC, DMARC_ALIGN_RELAXED, DMARC_ALIGN_RELAXED, 100, 1},
        {"v=DMARC1; p=none; pct=0", DMARC_PARSE_OK, DMARC_POLICY_NONE, DMARC_POLICY_UNSPEC,
         DMARC_ALIGN_RELAXED, DMARC_ALIGN_RELAXED, 0, 0},
        {"v=DMARC1; p=none; fo=0:1:d:s; rf=afrf; ri=3600; x-future=1", DMARC_PARSE_OK,
         DMARC_POLICY_NONE, DMARC_POLICY_UNSPEC, DMARC_ALIGN_RELAXED, DMARC_ALIGN_RELAXED, 100, 0},
        {"v=DMARC1; p=none; rua=mailto:a@example.com!10m, mailto:b@example.net", DMARC_PARSE_OK,
         DMARC_POLICY_NONE, DMARC_POLICY_UNSPEC, DMARC_ALIGN_RELAXED, DMARC_ALIGN_RELAXED, 100, 0},
        {"v=DMARC1; p=reject; p=none", DMARC_PARSE_BAD_VALUE, 0, 0, 0, 0, 0, 0},
        {"v=DMARC1; p=none; pct=-1", DMARC_PARSE_BAD_VALUE, 0, 0, 0, 0, 0, 0},
        {"v=DMARC1; p=none; pct=1000", DMARC_PARSE_BAD_VALUE, 0, 0, 0, 0, 0, 0},
        {"v=DMARC1; p=none; fo=x", DMARC_PARSE_BAD_VALUE, 0, 0, 0, 0, 0, 0},
        {"v=DMARC1; p=none; rua=not-a-uri", DMARC_PARSE_BAD_VALUE, 0, 0, 0, 0, 0, 0},
        {"v=DMARC1; p=none; ri=", DMARC_PARSE_BAD_VALUE, 0, 0, 0, 0, 0, 0},
        {"v=DMARC1; p", DMARC_PARSE_BAD_SYNTAX, 0, 0, 0, 0, 0, 0},
        {"v=DMARC1; 9x=1; p=none", DMARC_PARSE_BAD_SYNTAX, 0, 0, 0, 0, 0, 0},
        {"v=dmarc1; p=none", DMARC_PARSE_BAD_VERSION, 0, 0, 0, 0, 0, 0},
        {"p=none; v=DMARC1", DMARC_PARSE_BAD_VERSION, 0, 0, 0, 0, 0, 0},
        {"v=DMARC10; p=none", DMARC_PARSE_BAD_VERSION, 0, 0, 0, 0, 0, 0},
        {"   ", DMARC_PARSE_EMPTY, 0, 0, 0, 0, 0, 0},
        {"v=DMARC1; p=reject; sp=bogus", DMARC_PARSE_BAD_VALUE, 0, 0, 0, 0, 0, 0},
    };

    for (size_t i = 0; i < SM_ARRAY_LEN(cases); i++) {
        char err[256] = "";
        dmarc_record r;
        dmarc_parse_status st =
            dmarc_record_parse(cases[i].rec, strlen(cases[i].rec), &r, err, sizeof(err));
        if (st != cases[i].st)
            fail_msg("case %zu \"%s\": %s (%s)", i, cases[i].rec, dmarc_parse_status_name(st), err);
        if (st != DMARC_PARSE_OK) {
            assert_true(err[0] != '\0');
            continue;
        }
        if (r.p != cases[i].p || r.sp != cases[i].sp || r.adkim != cases[i].adkim ||
            r.aspf != cases[i].aspf || r.pct != cases[i].pct ||
            r.p_defaulted != cases[i].p_defaulted)
            fail_msg("case %zu \"%s\": values differ", i, cases[i].rec);
    }
}

static void
test_dmarc_parse_nul_byte_is_syntax_error(void **state SM_UNUSED)
{
    static const char rec[] = "v=DMARC1; p=none\0; p=reject";
    dmarc_record r;

    assert_int_equal(dmarc_record_parse(rec, sizeof(rec) - 1, &r, NULL, 0), DMARC_PARSE_BAD_SYNTAX);
    assert_int_equal(dmarc_record_parse(NULL, 0, &r, NULL, 0), DMARC_PARSE_EMPTY);
}

/* ---- discovery over a fake resolver ---- */

static const struct zone_rr {
    const char *name;
    dns_status st;
    const char *txt[3];
} zone[] = {
    {"_dmarc.example.com", DNS_OK, {"v=DMARC1; p=reject; sp=quarantine; adkim=s", NULL, NULL}},
    {"_dmarc.own.example.com", DNS_OK, {"v=DMARC1; p=none", NULL, NULL}},
    {"_dmarc.multi.example", DNS_OK, {"v=DMARC1; p=none", "v=DMARC1; p=reject", NULL}},
    {"_dmarc.mixed.example",
     DNS_OK,
     {"google-site-verification=x", "v=DMARC1; p=quarantine", NULL}},
    {"_dmarc.broken.example", DNS_OK, {"v=DMARC1; p=bogus", NULL, NULL}},
    {"_dmarc.sub.broken.example", DNS_NXDOMAIN, {NULL, NULL, NULL}},
    {"_dmarc.temp.example", DNS_TEMPFAIL, {NULL, NULL, NULL}},
    {"_dmarc.example.co.uk", DNS_OK, {"v=DMARC1; p=reject", NULL, NULL}},
    {"_dmarc.notdmarc.example", DNS_OK, {"v=spf1 -all", NULL, NULL}},
};

static dns_status
zone_resolve(void *arg SM_UNUSED, const char *name, uint64_t deadline SM_UNUSED, dns_txt **txt_r,
             uint32_t *ttl_r)
{
    *ttl_r = 300;
    for (size_t i = 0; i < SM_ARRAY_LEN(zone); i++) {
        if (strcmp(zone[i].name, name) != 0)
            continue;
        if (zone[i].st == DNS_OK) {
            *txt_r = dns_txt_new();
            for (int k = 0; k < 3 && zone[i].txt[k]; k++)
                dns_txt_add(*txt_r, zone[i].txt[k], strlen(zone[i].txt[k]));
        }
        return zone[i].st;
    }
    return DNS_NXDOMAIN;
}

static void
test_dmarc_discovery_table(void **state SM_UNUSED)
{
    static const struct {
        const char *from;
        dmarc_disc_status st;
        const char *where;
        int at_org;
        dmarc_policy policy;
    } cases[] = {
        {"example.com", DMARC_DISC_FOUND, "_dmarc.example.com", 0, DMARC_POLICY_REJECT},
        {"news.example.com", DMARC_DISC_FOUND, "_dmarc.example.com", 1,
         DMARC_POLICY_QUARANTINE}, /* sp= applies to subdomains */
        {"own.example.com", DMARC_DISC_FOUND, "_dmarc.own.example.com", 0, DMARC_POLICY_NONE},
        {"a.b.example.co.uk", DMARC_DISC_FOUND, "_dmarc.example.co.uk", 1,
         DMARC_POLICY_REJECT}, /* no sp=: p applies */
        {"multi.example", DMARC_DISC_MULTIPLE, "_dmarc.multi.example", 0, DMARC_POLICY_UNSPEC},
        {"mixed.example", DMARC_DISC_FOUND, "_dmarc.mixed.example", 0, DMARC_POLICY_QUARANTINE},
        {"broken.example", DMARC_DISC_INVALID, "_dmarc.broken.example", 0, DMARC_POLICY_UNSPEC},
        {"sub.broken.example", DMARC_DISC_INVALID, "_dmarc.broken.example", 1, DMARC_POLICY_UNSPEC},
        {"temp.example", DMARC_DISC_TEMPFAIL, "_dmarc.temp.example", 0, DMARC_POLICY_UNSPEC},
        {"x.temp.example", DMARC_DISC_TEMPFAIL, "_dmarc.temp.example", 1, DMARC_POLICY_UNSPEC},
        {"nothing.example", DMARC_DISC_NONE, "_dmarc.nothing.example", 0, DMARC_POLICY_UNSPEC},
        {"notdmarc.example", DMARC_DISC_NONE, "_dmarc.notdmarc.example", 0, DMARC_POLICY_UNSPEC},
        {"EXAMPLE.COM.", DMARC_DISC_FOUND, "_dmarc.example.com", 0, DMARC_POLICY_REJECT},
        {"bad..domain", DMARC_DISC_BAD_DOMAIN, "", 0, DMARC_POLICY_UNSPEC},
    };
    dns_cache *c = dns_cache_new(NULL);

    dns_cache_set_resolver(c, zone_resolve, NULL);
    for (size_t i = 0; i < SM_ARRAY_LEN(cases); i++) {
        dmarc_lookup l;
        dmarc_disc_status st = dmarc_discover(c, cases[i].from, 0, &l);
        if (st != cases[i].st || l.status != st || strcmp(l.where, cases[i].where) != 0 ||
            l.at_org != cases[i].at_org || l.policy != cases[i].policy)
            fail_msg("case %zu %s: %s at %s (org %d) policy %s", i, cases[i].from,
                     dmarc_disc_status_name(st), l.where, l.at_org, dmarc_policy_name(l.policy));
        if (st != DMARC_DISC_FOUND)
            assert_true(l.detail[0] != '\0');
    }
    dns_cache_free(c);
}

static void
test_dmarc_strict_alignment_ignores_case_and_dots(void **state SM_UNUSED)
{
    assert_true(dmarc_aligned("Example.COM", "example.com.", DMARC_ALIGN_STRICT));
    assert_false(dmarc_aligned("mail.example.com", "example.com", DMARC_ALIGN_STRICT));
    assert_true(dmarc_aligned("mail.example.com", "example.com", DMARC_ALIGN_RELAXED));
    assert_false(dmarc_aligned("example.com", "example.net", DMARC_ALIGN_RELAXED));
    assert_false(dmarc_aligned(NULL, "example.com", DMARC_ALIGN_RELAXED));
    assert_false(dmarc_aligned("...", "...", DMARC_ALIGN_STRICT));
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
        cmocka_unit_test(test_dmarc_opendmarc_vectors),
        cmocka_unit_test(test_dmarc_parse_values_table),
        cmocka_unit_test(test_dmarc_parse_nul_byte_is_syntax_error),
        cmocka_unit_test(test_dmarc_discovery_table),
        cmocka_unit_test(test_dmarc_strict_alignment_ignores_case_and_dots),
    };
    return testdata_exit(cmocka_run_group_tests(tests, setup, teardown));
}
