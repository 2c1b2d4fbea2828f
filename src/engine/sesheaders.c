/*
 * sesheaders.c - X-SES-* header rules: validation, matching, decision
 *
 * Purpose: parse and check the "ses.rules" list once, at load time (a
 * value SES would refuse is a configuration error, not a bounce later),
 * and decide per message which X-SES-* headers to add, keep or replace.
 * SES's limits: configuration set names up to 64 characters of
 * [A-Za-z0-9_-]; message tag names and values [A-Za-z0-9_-] up to 256
 * characters each (SES MessageTag), written "name=value" separated by
 * commas (a space after a comma is allowed), at most 50 tags; tenant names
 * are held to the configuration-set rule.  ARNs name an SES identity:
 * "arn:PARTITION:ses:REGION:ACCOUNT:identity/NAME", ACCOUNT 12 digits.
 *
 * Diagnostics: configuration errors read "file:line: reason" (cfg_errf).
 */
#include "config.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "engine/sesheaders.h"
#include "lib/util.h"

const char *const sesheaders_field_names[SESHEADERS_N_FIELDS] = {
    "X-SES-CONFIGURATION-SET", "X-SES-MESSAGE-TAGS", "X-SES-TENANT",
    "X-SES-SOURCE-ARN",        "X-SES-FROM-ARN",     "X-SES-RETURN-PATH-ARN",
};

static const char *const sesheaders_existing_names[] = {"keep", "replace", NULL};

#define RF(f) offsetof(sesheaders_rule, f)
static const cfg_directive sesheaders_rule_tab[] = {
    {"name", CFG_STR, RF(name), NULL, 0, 0, 0, NULL},
    {"senders", CFG_STRLIST, RF(senders), NULL, 0, 0, 0, NULL},
    {"header", CFG_STR, RF(header), NULL, 0, 0, 0, NULL},
    {"header_values", CFG_STRLIST, RF(header_values), NULL, 0, 0, 0, NULL},
    {"configuration_set", CFG_STR, RF(value[0]), NULL, 0, 0, 0, NULL},
    {"tags", CFG_STR, RF(value[1]), NULL, 0, 0, 0, NULL},
    {"tenant", CFG_STR, RF(value[2]), NULL, 0, 0, 0, NULL},
    {"source_arn", CFG_STR, RF(value[3]), NULL, 0, 0, 0, NULL},
    {"from_arn", CFG_STR, RF(value[4]), NULL, 0, 0, 0, NULL},
    {"return_path_arn", CFG_STR, RF(value[5]), NULL, 0, 0, 0, NULL},
    {"existing", CFG_ENUM, RF(existing), "keep", 0, 0, 0, sesheaders_existing_names},
    {"identity_source", CFG_STR, RF(identity_source), NULL, 0, 0, 0, NULL},
    {"check_tenant", CFG_BOOL, RF(check_tenant), NULL, 1, 0, 0, NULL},
    CFG_END,
};

/* sesheaders_word - length of the leading run of [A-Za-z0-9_-] */
static size_t
sesheaders_word(const char *s)
{
    return strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-");
}

int
sesheaders_name_check(const char *name, size_t max, char *why, size_t whylen)
{
    size_t n = strlen(name), w = sesheaders_word(name);

    if (n == 0)
        return util_errf(why, whylen, "empty name");
    if (w != n)
        return util_errf(why, whylen, "character '%c' not allowed (only A-Z a-z 0-9 _ -)",
                         (unsigned char)name[w] >= 0x21 && (unsigned char)name[w] < 0x7f ? name[w]
                                                                                         : '?');
    if (n > max)
        return util_errf(why, whylen, "%zu characters, more than %zu", n, max);
    return 0;
}

int
sesheaders_tags_check(const char *tags, char *why, size_t whylen)
{
    const char *p = tags;
    size_t ntags = 0;
    char part[64];

    if (*p == '\0')
        return util_errf(why, whylen, "no tag");
    for (;;) {
        size_t nl = sesheaders_word(p), vl;
        ntags++;
        snprintf(part, sizeof(part), "tag %zu", ntags);
        if (nl == 0)
            return util_errf(why, whylen,
                             "%s: empty name or a character other than A-Z a-z 0-9 _ -", part);
        if (nl > 256)
            return util_errf(why, whylen, "%s: name of %zu characters, more than 256", part, nl);
        if (p[nl] != '=')
            return util_errf(why, whylen, "%s: \"name=value\" expected", part);
        p += nl + 1;
        vl = sesheaders_word(p);
        if (vl == 0)
            return util_errf(why, whylen,
                             "%s: empty value or a character other than A-Z a-z 0-9 _ -", part);
        if (vl > 256)
            return util_errf(why, whylen, "%s: value of %zu characters, more than 256", part, vl);
        p += vl;
        if (ntags > SESHEADERS_MAX_TAGS)
            return util_errf(why, whylen, "more than %d tags", SESHEADERS_MAX_TAGS);
        if (*p == '\0')
            return 0;
        if (*p != ',')
            return util_errf(why, whylen, "%s: character '%c' not allowed in a value", part,
                             (unsigned char)*p >= 0x21 && (unsigned char)*p < 0x7f ? *p : '?');
        p++;
        if (*p == ' ')
            p++;
    }
}

int
sesheaders_arn_check(const char *arn, char *why, size_t whylen)
{
    const char *f[6];
    const char *p = arn;
    size_t i;

    for (i = 0; i < 5; i++) {
        f[i] = p;
        if ((p = strchr(p, ':')) == NULL)
            return util_errf(why, whylen,
                             "not an ARN (arn:aws:ses:REGION:ACCOUNT:identity/NAME expected)");
        p++;
    }
    f[5] = p;
    if (strncmp(f[0], "arn:", 4) != 0 || f[1] == f[2] - 1 || strncmp(f[2], "ses:", 4) != 0)
        return util_errf(why, whylen, "not an SES ARN (arn:PARTITION:ses:...)");
    if (f[4] - f[3] < 2 ||
        strspn(f[3], "abcdefghijklmnopqrstuvwxyz0123456789-") != (size_t)(f[4] - f[3] - 1))
        return util_errf(why, whylen, "ARN without a region");
    if (f[5] - f[4] != 13 || strspn(f[4], "0123456789") != 12)
        return util_errf(why, whylen, "ARN account must be 12 digits");
    if (strncmp(f[5], "identity/", 9) != 0 || f[5][9] == '\0')
        return util_errf(why, whylen, "ARN resource must be identity/NAME");
    for (p = f[5]; *p; p++)
        if ((unsigned char)*p <= 0x20 || (unsigned char)*p >= 0x7f)
            return util_errf(why, whylen, "ARN contains a space or a non-ASCII byte");
    return 0;
}

int
sesheaders_sender_match(const char *pattern, const char *sender)
{
    const char *at, *dom;
    size_t pl = strlen(pattern), dl;

    if (sender == NULL || *sender == '\0')
        return 0;
    at = strrchr(sender, '@');
    dom = at != NULL ? at + 1 : sender;
    dl = strlen(dom);
    if (strchr(pattern, '@') != NULL) {
        const char *pat = strrchr(pattern, '@');
        /* local part exact (SES: case-sensitive), domain case-insensitive */
        return at != NULL && (size_t)(pat - pattern) == (size_t)(at - sender) &&
               strncmp(pattern, sender, (size_t)(at - sender)) == 0 &&
               strcasecmp(pat + 1, dom) == 0;
    }
    if (dl == pl)
        return strcasecmp(dom, pattern) == 0;
    return dl > pl && dom[dl - pl - 1] == '.' && strcasecmp(dom + dl - pl, pattern) == 0;
}

/* sesheaders_check_rule - every value the rule adds, as SES would take it */
static int
sesheaders_check_rule(const config_setting_t *g, sesheaders_rule *r, char *err, size_t errlen)
{
    static const char *const keys[SESHEADERS_N_FIELDS] = {
        "configuration_set", "tags", "tenant", "source_arn", "from_arn", "return_path_arn"};
    char why[256];
    int any = 0;

    for (size_t i = 0; i < SESHEADERS_N_FIELDS; i++) {
        const config_setting_t *s = config_setting_get_member(g, keys[i]);
        int rc;
        if (r->value[i] == NULL)
            continue;
        any = 1;
        rc = i == 1   ? sesheaders_tags_check(r->value[i], why, sizeof(why))
             : i >= 3 ? sesheaders_arn_check(r->value[i], why, sizeof(why))
                      : sesheaders_name_check(r->value[i], 64, why, sizeof(why));
        if (rc < 0)
            return cfg_errf(err, errlen, s ? s : g, "ses.rules: %s \"%s\": %s", keys[i],
                            r->value[i], why);
    }
    if (!any)
        return cfg_errf(err, errlen, g,
                        "ses.rules: a rule must set configuration_set, tags, tenant or an ARN");
    for (size_t i = 0; i < r->senders.n; i++) {
        const char *p = r->senders.v[i], *dom = strrchr(p, '@') ? strrchr(p, '@') + 1 : p;
        if (*dom == '\0' || strchr(dom, '.') == NULL || strpbrk(p, " <>*") != NULL)
            return cfg_errf(err, errlen, g,
                            "ses.rules: sender \"%s\" must be a domain or an address", p);
    }
    if (r->header != NULL && (*r->header == '\0' || strpbrk(r->header, ": ") != NULL))
        return cfg_errf(err, errlen, g, "ses.rules: malformed header name \"%s\"", r->header);
    if (r->senders.n == 0 && r->header == NULL)
        return cfg_errf(err, errlen, g, "ses.rules: a rule needs senders or a trigger header");
    return 0;
}

int
sesheaders_conf_parse(const config_setting_t *list, sesheaders_conf **out, char *err, size_t errlen)
{
    sesheaders_conf *c = xcalloc(1, sizeof(*c));
    int n;

    *out = c;
    if (list == NULL)
        return 0;
    if (!config_setting_is_list(list))
        return cfg_errf(err, errlen, list, "ses.rules must be a list of groups");
    n = config_setting_length(list);
    c->rules = xcalloc((size_t)n + 1, sizeof(*c->rules));
    for (int i = 0; i < n; i++) {
        const config_setting_t *g = config_setting_get_elem(list, (unsigned)i);
        sesheaders_rule *r = &c->rules[c->n_rules];
        if (!config_setting_is_group(g))
            return cfg_errf(err, errlen, g, "ses.rules: each rule is a group { ... }");
        c->n_rules++;
        if (cfg_parse_table(g, sesheaders_rule_tab, r, NULL, err, errlen) < 0 ||
            sesheaders_check_rule(g, r, err, errlen) < 0)
            return -1;
    }
    return 0;
}

int
sesheaders_check_sources(const sesheaders_conf *c, const char *const *names, size_t n, char *err,
                         size_t errlen)
{
    for (size_t i = 0; c != NULL && i < c->n_rules; i++) {
        const char *want = c->rules[i].identity_source;
        size_t k = 0;
        while (want != NULL && k < n && strcmp(names[k], want) != 0)
            k++;
        if (want != NULL && k == n)
            return util_errf(err, errlen,
                             "ses.rules[%zu]: identity_source \"%s\" is not one of "
                             "identity.sources",
                             i, want);
    }
    return 0;
}

void
sesheaders_conf_dump(FILE *fp, const sesheaders_conf *c)
{
    char prefix[64];

    for (size_t i = 0; c != NULL && i < c->n_rules; i++) {
        snprintf(prefix, sizeof(prefix), "ses.rules[%zu]", i);
        cfg_dump_table(fp, prefix, sesheaders_rule_tab, &c->rules[i]);
    }
}

sesheaders_conf *
sesheaders_conf_free(sesheaders_conf *c)
{
    if (c == NULL)
        return NULL;
    for (size_t i = 0; i < c->n_rules; i++)
        cfg_free_table(sesheaders_rule_tab, &c->rules[i]);
    free(c->rules);
    free(c);
    return NULL;
}

/* sesheaders_find - the first header named name, or NULL; counts them in *n */
static const char *
sesheaders_find(const sesheaders_hdr *hdrs, size_t n_hdrs, const char *name, size_t *n)
{
    const char *first = NULL;

    *n = 0;
    for (size_t i = 0; i < n_hdrs; i++)
        if (strcasecmp(hdrs[i].name, name) == 0) {
            if (first == NULL)
                first = hdrs[i].value;
            (*n)++;
        }
    return first;
}

/* sesheaders_rule_matches - senders (any, when none) and trigger (when set) */
static int
sesheaders_rule_matches(const sesheaders_rule *r, const char *sender, const sesheaders_hdr *hdrs,
                        size_t n_hdrs)
{
    int ok = r->senders.n == 0;

    for (size_t i = 0; !ok && sender != NULL && i < r->senders.n; i++)
        ok = sesheaders_sender_match(r->senders.v[i], sender);
    if (!ok)
        return 0;
    if (r->header != NULL) {
        size_t n;
        const char *v = sesheaders_find(hdrs, n_hdrs, r->header, &n);
        if (v == NULL)
            return 0;
        while (*v == ' ' || *v == '\t')
            v++;
        if (r->header_values.n > 0 && !cfg_strlist_has(&r->header_values, v))
            return 0;
    }
    return 1;
}

void
sesheaders_decide(const sesheaders_conf *c, const char *sender, const sesheaders_hdr *hdrs,
                  size_t n_hdrs, sesheaders_result *res)
{
    memset(res, 0, sizeof(*res));
    for (size_t i = 0; c != NULL && i < c->n_rules; i++)
        if (sesheaders_rule_matches(&c->rules[i], sender, hdrs, n_hdrs)) {
            res->rule = &c->rules[i];
            res->rule_index = i;
            break;
        }
    if (res->rule == NULL)
        return;
    for (size_t f = 0; f < SESHEADERS_N_FIELDS; f++) {
        sesheaders_item *it = &res->items[res->n_items];
        size_t n;
        const char *have;
        if (res->rule->value[f] == NULL)
            continue;
        have = sesheaders_find(hdrs, n_hdrs, sesheaders_field_names[f], &n);
        it->field = sesheaders_field_names[f];
        if (have != NULL && res->rule->existing == SESHEADERS_KEEP) {
            it->act = SESHEADERS_KEPT;
            it->value = have;
        } else {
            it->act = have != NULL ? SESHEADERS_REPLACED : SESHEADERS_ADDED;
            it->n_removed = have != NULL ? n : 0;
            it->value = res->rule->value[f];
        }
        res->n_items++;
    }
}

const char *
sesheaders_act_name(sesheaders_act a)
{
    return a == SESHEADERS_KEPT ? "kept" : a == SESHEADERS_REPLACED ? "replaced" : "added";
}
