/*
 * align_provider.c - the mailbox providers' sender rules, as data
 *
 * Purpose: say, per provider, whether a message meets the authentication
 * rules the provider published for bulk senders, and which rule it fails:
 *   Gmail (February 2024) and Yahoo (February 2024): SPF passes, DKIM
 *     passes, a DMARC record of at least p=none, SPF or DKIM aligned with
 *     the From domain, and for bulk mail one-click unsubscribe (RFC 8058:
 *     List-Unsubscribe with an https URI and List-Unsubscribe-Post:
 *     List-Unsubscribe=One-Click);
 *   Microsoft Outlook.com (May 2025): SPF passes and DKIM passes, a DMARC
 *     record of at least p=none, SPF or DKIM aligned; its receivers answer
 *     "550 5.7.515 Access denied, sending domain ... does not meet the
 *     required authentication level".
 * The rules are the table align_provider_rules (each names the fact it
 * reads and the advice when it fails), the providers the table
 * align_provider_tab (each a set of rules); adding a provider or a rule is
 * a line in a table.  A rule whose fact is unknown (a temporary error)
 * makes the verdict "unknown" unless another rule fails.
 *
 * Diagnostics: none; the caller logs the advice.
 */
#include "config.h"

#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "auth/align_provider.h"
#include "lib/util.h"

typedef struct align_provider_rule {
    const char *name;       /* short name, in the summary line, header and audit record */
    size_t fact;            /* offsetof the int fact in align_provider_facts */
    int bulk_only;          /* applies to bulk mail only */
    int about_spf;          /* the advice names the SPF domain (else the From domain) */
    const char *pre, *post; /* the advice when the rule fails: pre DOMAIN post */
} align_provider_rule;

#define FACT(f) offsetof(align_provider_facts, f)

static const align_provider_rule align_provider_rules[ALIGN_RULE_N] = {
    [ALIGN_RULE_SPF_PASS] = {"spf-pass", FACT(spf_pass), 0, 1,
                             "SPF does not pass for the MAIL FROM domain ", ""},
    [ALIGN_RULE_DKIM_PASS] = {"dkim-pass", FACT(dkim_pass), 0, 0, "no DKIM signature of mail from ",
                              " would verify"},
    [ALIGN_RULE_DMARC_RECORD] = {"dmarc-record", FACT(dmarc_record), 0, 0, "",
                                 " publishes no DMARC record (at least p=none is required)"},
    [ALIGN_RULE_ALIGNED] = {"aligned", FACT(aligned), 0, 0,
                            "neither SPF nor DKIM aligns with the From domain ", ""},
    [ALIGN_RULE_ONE_CLICK] = {"one-click", FACT(one_click), 1, 0, "bulk mail from ",
                              " lacks one-click unsubscribe (RFC 8058 List-Unsubscribe with an "
                              "https URI and List-Unsubscribe-Post)"},
};

#define RULE(r) (1u << (r))
#define AUTH_RULES                                                                                 \
    (RULE(ALIGN_RULE_SPF_PASS) | RULE(ALIGN_RULE_DKIM_PASS) | RULE(ALIGN_RULE_DMARC_RECORD) |      \
     RULE(ALIGN_RULE_ALIGNED))

typedef struct align_provider_def {
    const char *name;  /* configuration name */
    const char *label; /* in the advice */
    const char *since; /* when the rules took effect */
    const char *reply; /* what its receivers answer, NULL: not published */
    unsigned rules;
} align_provider_def;

static const align_provider_def align_provider_tab[ALIGN_PROVIDER_N] = {
    [ALIGN_PROVIDER_GMAIL] = {"gmail", "Gmail", "February 2024", NULL,
                              AUTH_RULES | RULE(ALIGN_RULE_ONE_CLICK)},
    [ALIGN_PROVIDER_YAHOO] = {"yahoo", "Yahoo", "February 2024", NULL,
                              AUTH_RULES | RULE(ALIGN_RULE_ONE_CLICK)},
    [ALIGN_PROVIDER_OUTLOOK] = {"outlook", "Outlook.com", "May 2025", "550 5.7.515", AUTH_RULES},
};

/* align_provider_parse - a provider's configuration name to its id; -1 if unknown */
int
align_provider_parse(const char *name)
{
    for (int i = 0; name != NULL && i < ALIGN_PROVIDER_N; i++)
        if (strcasecmp(name, align_provider_tab[i].name) == 0)
            return i;
    return -1;
}

/* align_provider_name - "gmail", "yahoo", "outlook" */
const char *
align_provider_name(align_provider_id id)
{
    return (unsigned)id < ALIGN_PROVIDER_N ? align_provider_tab[id].name : "unknown";
}

/* align_provider_rule_name - "spf-pass", ... */
const char *
align_provider_rule_name(align_provider_rule_id r)
{
    return (unsigned)r < ALIGN_RULE_N ? align_provider_rules[r].name : "unknown";
}

/* align_provider_result_name - "pass", "fail", "unknown" */
const char *
align_provider_result_name(align_provider_result r)
{
    switch (r) {
    case ALIGN_PROVIDER_PASS:
        return "pass";
    case ALIGN_PROVIDER_FAIL:
        return "fail";
    case ALIGN_PROVIDER_UNKNOWN:
        break;
    }
    return "unknown";
}

/* align_provider_reply - the published refusal, NULL when the provider publishes none */
const char *
align_provider_reply(align_provider_id id)
{
    return (unsigned)id < ALIGN_PROVIDER_N ? align_provider_tab[id].reply : NULL;
}

/* align_provider_facts_of - authentication facts of a prediction; unknown on temperror */
void
align_provider_facts_of(const align_result *r, align_provider_facts *f)
{
    int temp = r->dmarc_result == ALIGN_DMARC_TEMPERROR;
    int dkim = 0;

    memset(f, 0, sizeof(*f));
    for (size_t i = 0; i < r->ndkim; i++)
        dkim |= r->dkim[i].pass;
    f->spf_pass = r->spf_result == ALIGN_SPF_PASS        ? 1
                  : r->spf_result == ALIGN_SPF_TEMPERROR ? -1
                                                         : 0;
    f->dkim_pass = dkim || r->dkim_aligned ? 1 : r->key_tempfail || r->ses_tempfail ? -1 : 0;
    f->dmarc_record = r->dmarc_published ? 1 : r->dmarc.status == DMARC_DISC_TEMPFAIL ? -1 : 0;
    f->aligned = r->dkim_aligned || r->spf_aligned ? 1 : temp ? -1 : 0;
    f->from_domain = r->from_domain;
    f->spf_domain = r->spf_domain[0] ? r->spf_domain : "-";
}

/* align_provider_value_is - the field value, blanks around it ignored, equals s */
static int
align_provider_value_is(const char *value, const char *s)
{
    size_t n = strlen(s);

    while (*value == ' ' || *value == '\t')
        value++;
    if (strncasecmp(value, s, n) != 0)
        return 0;
    for (value += n; *value == ' ' || *value == '\t' || *value == '\r' || *value == '\n';)
        value++;
    return *value == '\0';
}

/* align_provider_https_uri - a List-Unsubscribe value names an <https:...> URI */
static int
align_provider_https_uri(const char *value)
{
    for (const char *p = strchr(value, '<'); p != NULL; p = strchr(p + 1, '<'))
        if (strncasecmp(p + 1, "https:", 6) == 0)
            return 1;
    return 0;
}

/* align_provider_mail - whether the message is bulk mail and offers one-click unsubscribe */
void
align_provider_mail(const align_provider_hdr *hdrs, size_t n, int unsub_rule, size_t n_rcpts,
                    align_provider_facts *f)
{
    int https = 0, post = 0, ses_mgmt = 0, bulk = unsub_rule != 0;

    for (size_t i = 0; i < n; i++) {
        const char *name = hdrs[i].name, *value = hdrs[i].value ? hdrs[i].value : "";
        if (name == NULL)
            continue;
        if (strcasecmp(name, "Precedence") == 0)
            bulk |= align_provider_value_is(value, "bulk") ||
                    align_provider_value_is(value, "list") ||
                    align_provider_value_is(value, "junk");
        else if (strcasecmp(name, "List-Id") == 0)
            bulk = 1;
        else if (strcasecmp(name, "List-Unsubscribe") == 0)
            bulk = 1, https |= align_provider_https_uri(value);
        else if (strcasecmp(name, "List-Unsubscribe-Post") == 0)
            post |= align_provider_value_is(value, "List-Unsubscribe=One-Click");
        else if (strcasecmp(name, "X-SES-LIST-MANAGEMENT-OPTIONS") == 0)
            bulk = ses_mgmt = 1;
    }
    f->bulk = bulk;
    /* SES subscription management adds both fields itself, to single-recipient mail */
    f->one_click = (https && post) || (ses_mgmt && n_rcpts == 1);
}

/* align_provider_check - each provider of mask against its rules */
void
align_provider_check(unsigned mask, const align_provider_facts *f, align_provider_verdicts *out)
{
    memset(out, 0, sizeof(*out));
    for (int p = 0; p < ALIGN_PROVIDER_N; p++) {
        align_provider_verdict *v;

        if (!(mask & (1u << p)))
            continue;
        v = &out->v[out->n++];
        v->id = (align_provider_id)p;
        for (int r = 0; r < ALIGN_RULE_N; r++) {
            const align_provider_rule *rule = &align_provider_rules[r];
            int fact;

            if (!(align_provider_tab[p].rules & RULE(r)) || (rule->bulk_only && f->bulk != 1))
                continue;
            fact = *(const int *)(const void *)((const char *)f + rule->fact);
            if (fact == 0)
                v->failed |= RULE(r);
            else if (fact < 0)
                v->unknown |= RULE(r);
        }
        v->result = v->failed    ? ALIGN_PROVIDER_FAIL
                    : v->unknown ? ALIGN_PROVIDER_UNKNOWN
                                 : ALIGN_PROVIDER_PASS;
    }
}

/* align_provider_put - append to buf at *off, never past len */
static void
align_provider_put(char *buf, size_t len, size_t *off, const char *s)
{
    size_t n = strlen(s);

    if (*off + 1 >= len)
        return;
    if (n > len - *off - 1)
        n = len - *off - 1;
    memcpy(buf + *off, s, n);
    *off += n;
    buf[*off] = '\0';
}

/* align_provider_summary - "gmail:pass,yahoo:fail(one-click),outlook:unknown"; "-": none */
char *
align_provider_summary(const align_provider_verdicts *v, char *buf, size_t len)
{
    size_t off = 0;

    if (len == 0)
        return buf;
    buf[0] = '\0';
    for (size_t i = 0; i < v->n; i++) {
        unsigned bits = v->v[i].failed ? v->v[i].failed : v->v[i].unknown;
        int first = 1;

        align_provider_put(buf, len, &off, i ? "," : "");
        align_provider_put(buf, len, &off, align_provider_name(v->v[i].id));
        align_provider_put(buf, len, &off, ":");
        align_provider_put(buf, len, &off, align_provider_result_name(v->v[i].result));
        for (int r = 0; r < ALIGN_RULE_N; r++) {
            if (!(bits & RULE(r)))
                continue;
            align_provider_put(buf, len, &off, first ? "(" : "+");
            align_provider_put(buf, len, &off, align_provider_rules[r].name);
            first = 0;
        }
        if (!first)
            align_provider_put(buf, len, &off, ")");
    }
    if (v->n == 0)
        align_provider_put(buf, len, &off, "-");
    return buf;
}

/* align_provider_advice - "Outlook.com (rules since May 2025) would refuse ...: why; why" */
char *
align_provider_advice(const align_provider_verdict *v, const align_provider_facts *f, char *buf,
                      size_t len)
{
    const align_provider_def *d = &align_provider_tab[v->id];
    unsigned bits = v->failed ? v->failed : v->unknown;
    char one[400];
    size_t off = 0;
    int first = 1;

    if (len == 0)
        return buf;
    buf[0] = '\0';
    if (v->result == ALIGN_PROVIDER_PASS) {
        snprintf(buf, len, "%s: the message meets its sender rules", d->label);
        return buf;
    }
    if (v->result == ALIGN_PROVIDER_UNKNOWN) {
        snprintf(one, sizeof(one), "%s (sender rules since %s): whether the message meets ",
                 d->label, d->since);
        align_provider_put(buf, len, &off, one);
        for (int r = 0; r < ALIGN_RULE_N; r++)
            if (bits & RULE(r)) {
                align_provider_put(buf, len, &off, first ? "" : "+");
                align_provider_put(buf, len, &off, align_provider_rules[r].name);
                first = 0;
            }
        align_provider_put(buf, len, &off,
                           " cannot be predicted (a temporary failure, or SPF without "
                           "alignment.egress_ips)");
        return buf;
    }
    if (d->reply != NULL)
        snprintf(one, sizeof(one),
                 "%s (sender rules since %s) would refuse the message (%s): ", d->label, d->since,
                 d->reply);
    else
        snprintf(one, sizeof(one),
                 "%s (sender rules since %s) would junk or refuse the message: ", d->label,
                 d->since);
    align_provider_put(buf, len, &off, one);
    for (int r = 0; r < ALIGN_RULE_N; r++) {
        const align_provider_rule *rule = &align_provider_rules[r];
        const char *arg = rule->about_spf ? f->spf_domain : f->from_domain;

        if (!(bits & RULE(r)))
            continue;
        align_provider_put(buf, len, &off, first ? "" : "; ");
        align_provider_put(buf, len, &off, rule->pre);
        align_provider_put(buf, len, &off, arg ? arg : "-");
        align_provider_put(buf, len, &off, rule->post);
        first = 0;
    }
    return buf;
}
