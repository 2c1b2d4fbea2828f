/*
 * align_conf.c - the "alignment" configuration section
 *
 * SYNOPSIS
 *   align_conf_parse(config_lookup(&cfg, "alignment"), &conf, err, len);
 *   align_conf_dump(stdout, conf);                       ("ses-milter -n")
 *   conf = align_conf_free(conf);
 *
 * DESCRIPTION
 *   The flat settings (enabled, relay, egress_ips, action, temperror_action,
 *   result_header, multiple_author_domains) and the dns { ... } group are cfg_directive tables; the
 *   downstream_signer group, the overrides list and the providers list (names of
 *   align_provider.c's rule sets, all when absent) are parsed by hand on
 *   top of such tables.  Everything is validated here, once: egress_ips
 *   must be addresses SPF can be evaluated for (not loopback, not
 *   unspecified: spf_ip_usable()), the signer's domain and override
 *   domains are normalised, the selector and result_header are checked.
 *   align.c applies the parsed settings (align_action_for(),
 *   align_tag_header()).
 *
 * DIAGNOSTICS
 *   No logging: the first error goes to err as "file:line: reason".
 */
#include "config.h"

#include <arpa/inet.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth/align_int.h"
#include "auth/align_provider.h"
#include "lib/domain.h"
#include "auth/spf.h"
#include "lib/util.h"

static const char *const align_conf_temperror_names[] = {"tempfail", "accept", NULL};
static const char *const align_conf_relay_names[] = {"ses", "direct", NULL};
static const char *const align_conf_authors_names[] = {"strictest", "reject", NULL};

static const cfg_directive align_conf_tab[] = {
    {"enabled", CFG_BOOL, offsetof(align_conf, enabled), NULL, 1, 0, 0, NULL},
    {"relay", CFG_ENUM, offsetof(align_conf, relay), "ses", 0, 0, 0, align_conf_relay_names},
    {"egress_ips", CFG_STRLIST, offsetof(align_conf, egress_ips), NULL, 0, 0, 0, NULL},
    {"action", CFG_ENUM, offsetof(align_conf, action), "monitor", 0, 0, 0, align_action_names},
    {"temperror_action", CFG_ENUM, offsetof(align_conf, temperror_action), "tempfail", 0, 0, 0,
     align_conf_temperror_names},
    {"result_header", CFG_STR, offsetof(align_conf, result_header), "", 0, 0, 0, NULL},
    {"multiple_author_domains", CFG_ENUM, offsetof(align_conf, multiple_authors), "strictest", 0, 0,
     0, align_conf_authors_names},
    CFG_END,
};

static const char *const align_conf_extra[] = {"downstream_signer", "overrides", "dns",
                                               "providers",         "dmarc",     NULL};

static const char *const align_conf_method_names[] = {"rfc7489", "rfc9989", "both", NULL};
static const char *const align_conf_deciding_names[] = {"rfc7489", "rfc9989", "strictest", NULL};

typedef struct align_dmarc_conf {
    int method, deciding;
} align_dmarc_conf;

/* alignment.dmarc { method; deciding; }: RFC 7489, RFC 9989 or both (align_bis.c) */
static const cfg_directive align_conf_dmarc_tab[] = {
    {"method", CFG_ENUM, offsetof(align_dmarc_conf, method), "both", 0, 0, 0,
     align_conf_method_names},
    {"deciding", CFG_ENUM, offsetof(align_dmarc_conf, deciding), "rfc7489", 0, 0, 0,
     align_conf_deciding_names},
    CFG_END,
};

typedef struct align_signer_conf {
    char *domain, *selector;
} align_signer_conf;

static const cfg_directive align_conf_signer_tab[] = {
    {"domain", CFG_STR, offsetof(align_signer_conf, domain), NULL, 0, 0, 0, NULL},
    {"selector", CFG_STR, offsetof(align_signer_conf, selector), NULL, 0, 0, 0, NULL},
    CFG_END,
};

typedef struct align_override_conf {
    char *domain;
    int action;
} align_override_conf;

static const cfg_directive align_conf_override_tab[] = {
    {"domain", CFG_STR, offsetof(align_override_conf, domain), NULL, 0, 0, 0, NULL},
    {"action", CFG_ENUM, offsetof(align_override_conf, action), "monitor", 0, 0, 0,
     align_action_names},
    CFG_END,
};

typedef struct align_dns_conf {
    long timeout_ms, max_entries, min_ttl, max_ttl, neg_ttl;
} align_dns_conf;

static const cfg_directive align_conf_dns_tab[] = {
    {"timeout_ms", CFG_INT, offsetof(align_dns_conf, timeout_ms), NULL, 3000, 1, 60000, NULL},
    {"max_entries", CFG_INT, offsetof(align_dns_conf, max_entries), NULL, 10000, 1, 10000000, NULL},
    {"min_ttl", CFG_INT, offsetof(align_dns_conf, min_ttl), NULL, 30, 0, 86400, NULL},
    {"max_ttl", CFG_INT, offsetof(align_dns_conf, max_ttl), NULL, 86400, 1, 604800, NULL},
    {"neg_ttl", CFG_INT, offsetof(align_dns_conf, neg_ttl), NULL, 300, 0, 86400, NULL},
    CFG_END,
};

/* align_conf_header_name_ok - RFC 5322 field name: printable ASCII except ':' */
static int
align_conf_header_name_ok(const char *s)
{
    for (const char *p = s; *p; p++)
        if ((unsigned char)*p < 33 || (unsigned char)*p > 126 || *p == ':')
            return 0;
    return 1;
}

/* align_conf_selector_ok - a DKIM selector: dot-separated labels of letters, digits, '-', '_' */
static int
align_conf_selector_ok(const char *s)
{
    size_t label = 0;

    for (const char *p = s; *p; p++) {
        if (*p == '.') {
            if (label == 0)
                return 0;
            label = 0;
        } else if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
                   (*p >= '0' && *p <= '9') || *p == '-' || *p == '_') {
            label++;
        } else {
            return 0;
        }
    }
    return label > 0 && strlen(s) < 64;
}

/*
 * align_conf_ips - validate egress_ips: IP addresses that SPF can be evaluated for
 * (libspf2 passes every loopback client, so spf_ip_usable() refuses loopback and
 * the unspecified address)
 */
static int
align_conf_ips(const config_setting_t *group, const align_conf *c, char *err, size_t errlen)
{
    const config_setting_t *s = config_setting_get_member(group, "egress_ips");
    unsigned char buf[16];
    char why[200];

    for (size_t i = 0; i < c->egress_ips.n; i++) {
        const config_setting_t *e = s;
        if (s != NULL && config_setting_type(s) != CONFIG_TYPE_STRING)
            e = config_setting_get_elem(s, (unsigned)i);
        if (inet_pton(AF_INET, c->egress_ips.v[i], buf) != 1 &&
            inet_pton(AF_INET6, c->egress_ips.v[i], buf) != 1)
            return cfg_errf(err, errlen, e,
                            "'alignment.egress_ips': \"%s\" is not an IPv4 or IPv6 address",
                            c->egress_ips.v[i]);
        if (spf_ip_usable(c->egress_ips.v[i], why, sizeof(why)) < 0)
            return cfg_errf(err, errlen, e, "'alignment.egress_ips': %s", why);
    }
    return 0;
}

/* align_conf_signer - the optional downstream_signer { domain; selector; } group */
static int
align_conf_signer(const config_setting_t *group, align_conf *c, char *err, size_t errlen)
{
    const config_setting_t *s = config_setting_get_member(group, "downstream_signer");
    align_signer_conf sc = {NULL, NULL};
    char norm[DOMAIN_MAX];
    int rc = 0;

    if (s == NULL)
        return 0;
    if (cfg_parse_table(s, align_conf_signer_tab, &sc, NULL, err, errlen) < 0)
        rc = -1;
    else if (sc.domain == NULL || sc.selector == NULL)
        rc = cfg_errf(err, errlen, s,
                      "'alignment.downstream_signer' needs both domain and selector");
    else if (domain_normalize(sc.domain, DOMAIN_LOOSE, norm, sizeof(norm), NULL, 0) < 0)
        rc = cfg_errf(err, errlen, config_setting_get_member(s, "domain"),
                      "'alignment.downstream_signer.domain' = \"%s\" is not a domain name",
                      sc.domain);
    else if (!align_conf_selector_ok(sc.selector))
        rc = cfg_errf(err, errlen, config_setting_get_member(s, "selector"),
                      "'alignment.downstream_signer.selector' = \"%s\" is not a DKIM selector",
                      sc.selector);
    if (rc == 0) {
        c->signer_domain = xstrdup(norm);
        c->signer_selector = xstrdup(sc.selector);
    }
    cfg_free_table(align_conf_signer_tab, &sc);
    return rc;
}

/* align_conf_overrides - overrides = ( { domain = "..."; action = "..."; }, ... ) */
static int
align_conf_overrides(const config_setting_t *group, align_conf *c, char *err, size_t errlen)
{
    const config_setting_t *s = config_setting_get_member(group, "overrides");
    int n;

    if (s == NULL)
        return 0;
    if (config_setting_type(s) != CONFIG_TYPE_LIST)
        return cfg_errf(err, errlen, s, "'alignment.overrides' must be a list ( { ... }, ... )");
    n = config_setting_length(s);
    c->overrides = xcalloc((size_t)n + 1, sizeof(align_override));
    for (int i = 0; i < n; i++) {
        const config_setting_t *e = config_setting_get_elem(s, (unsigned)i);
        align_override_conf oc = {NULL, 0};
        char norm[DOMAIN_MAX];
        int rc = 0;

        if (cfg_parse_table(e, align_conf_override_tab, &oc, NULL, err, errlen) < 0)
            rc = -1;
        else if (oc.domain == NULL || config_setting_get_member(e, "action") == NULL)
            rc = cfg_errf(err, errlen, e,
                          "'alignment.overrides' element %d needs domain and action", i + 1);
        else if (domain_normalize(oc.domain, DOMAIN_LOOSE, norm, sizeof(norm), NULL, 0) < 0)
            rc = cfg_errf(err, errlen, e,
                          "'alignment.overrides' domain \"%s\" is not a domain name", oc.domain);
        if (rc == 0) {
            c->overrides[c->n_overrides].domain = xstrdup(norm);
            c->overrides[c->n_overrides++].action = oc.action;
        }
        cfg_free_table(align_conf_override_tab, &oc);
        if (rc < 0)
            return -1;
    }
    return 0;
}

/* align_conf_providers - providers = [ "gmail", "yahoo", "outlook" ]: the rule sets checked
 * (absent: all; [ ]: none) */
static int
align_conf_providers(const config_setting_t *group, align_conf *c, char *err, size_t errlen)
{
    const config_setting_t *s = group ? config_setting_get_member(group, "providers") : NULL;
    int n;

    c->providers = ALIGN_PROVIDER_ALL;
    if (s == NULL)
        return 0;
    if (config_setting_type(s) != CONFIG_TYPE_ARRAY && config_setting_type(s) != CONFIG_TYPE_LIST)
        return cfg_errf(err, errlen, s,
                        "'alignment.providers' must be a list of names [ \"gmail\", ... ]");
    c->providers = 0;
    n = config_setting_length(s);
    for (int i = 0; i < n; i++) {
        const config_setting_t *e = config_setting_get_elem(s, (unsigned)i);
        const char *name = config_setting_get_string(e);
        int id = align_provider_parse(name);

        if (id < 0)
            return cfg_errf(err, errlen, e,
                            "'alignment.providers': \"%s\" is not a provider (gmail, yahoo, "
                            "outlook)",
                            name ? name : "(not a string)");
        c->providers |= 1u << id;
    }
    return 0;
}

/* align_conf_parse - the "alignment" group into a new align_conf; NULL group: defaults */
int
align_conf_parse(const config_setting_t *group, align_conf **out, char *err, size_t errlen)
{
    align_conf *c = xcalloc(1, sizeof(*c));
    align_dns_conf dc;
    align_dmarc_conf mc;
    int rc;

    *out = NULL;
    rc = cfg_parse_table(group, align_conf_tab, c, align_conf_extra, err, errlen);
    cfg_defaults(align_conf_dns_tab, &dc);
    c->providers = ALIGN_PROVIDER_ALL;
    cfg_defaults(align_conf_dmarc_tab, &mc);
    if (rc == 0 && group != NULL) {
        if (align_conf_ips(group, c, err, errlen) < 0 ||
            align_conf_providers(group, c, err, errlen) < 0 ||
            align_conf_signer(group, c, err, errlen) < 0 ||
            align_conf_overrides(group, c, err, errlen) < 0 ||
            cfg_parse_table(config_setting_get_member(group, "dns"), align_conf_dns_tab, &dc, NULL,
                            err, errlen) < 0 ||
            cfg_parse_table(config_setting_get_member(group, "dmarc"), align_conf_dmarc_tab, &mc,
                            NULL, err, errlen) < 0)
            rc = -1;
        else if (*c->result_header && !align_conf_header_name_ok(c->result_header))
            rc = cfg_errf(err, errlen, config_setting_get_member(group, "result_header"),
                          "'alignment.result_header' = \"%s\" is not a header field name",
                          c->result_header);
        else if (dc.max_ttl < dc.min_ttl)
            rc = cfg_errf(err, errlen, config_setting_get_member(group, "dns"),
                          "'alignment.dns.max_ttl' is smaller than min_ttl");
    }
    if (rc < 0) {
        align_conf_free(c);
        return -1;
    }
    c->dns.timeout_ms = dc.timeout_ms;
    c->dns.max_entries = dc.max_entries;
    c->dns.min_ttl = dc.min_ttl;
    c->dns.max_ttl = dc.max_ttl;
    c->dns.neg_ttl = dc.neg_ttl;
    c->dmarc_method = mc.method;
    c->dmarc_deciding = mc.deciding;
    *out = c;
    return 0;
}

/* align_conf_dump - the effective settings as "alignment.name = value;" lines */
void
align_conf_dump(FILE *fp, const align_conf *c)
{
    align_dns_conf dc = {c->dns.timeout_ms, c->dns.max_entries, c->dns.min_ttl, c->dns.max_ttl,
                         c->dns.neg_ttl};
    align_dmarc_conf mc = {c->dmarc_method, c->dmarc_deciding};

    cfg_dump_table(fp, "alignment", align_conf_tab, c);
    if (c->signer_domain != NULL) {
        align_signer_conf sc = {c->signer_domain, c->signer_selector};
        cfg_dump_table(fp, "alignment.downstream_signer", align_conf_signer_tab, &sc);
    }
    for (size_t i = 0; i < c->n_overrides; i++)
        fprintf(fp, "alignment.overrides[%zu] = { domain = \"%s\"; action = \"%s\"; };\n", i,
                c->overrides[i].domain, align_action_name(c->overrides[i].action));
    fprintf(fp, "alignment.providers = [");
    for (int i = 0, n = 0; i < ALIGN_PROVIDER_N; i++)
        if (c->providers & (1u << i))
            fprintf(fp, "%s \"%s\"", n++ ? "," : "", align_provider_name((align_provider_id)i));
    fprintf(fp, " ];\n");
    cfg_dump_table(fp, "alignment.dns", align_conf_dns_tab, &dc);
    cfg_dump_table(fp, "alignment.dmarc", align_conf_dmarc_tab, &mc);
}

/* align_conf_free - free everything parsing allocated; returns NULL */
align_conf *
align_conf_free(align_conf *c)
{
    if (c == NULL)
        return NULL;
    cfg_free_table(align_conf_tab, c);
    free(c->signer_domain);
    free(c->signer_selector);
    for (size_t i = 0; i < c->n_overrides; i++)
        free(c->overrides[i].domain);
    free(c->overrides);
    free(c);
    return NULL;
}
