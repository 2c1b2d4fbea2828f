/*
 * align.c - the alignment verdict and advice engine
 *
 * Purpose: before a message leaves, predict whether it will pass DMARC at
 * the receiver and say why not in words an administrator can act on.
 * Facts come in (align_facts): the From domain, signatures already on the
 * message, the relay and, for Amazon SES, the matched identity's
 * attributes, a declared downstream signer, and the SPF result computed
 * elsewhere.  The rules for SES follow doc SES.md:
 *   - SES always adds a d=amazonses.com signature and, with Easy DKIM
 *     (SigningEnabled and Status SUCCESS on a domain identity), a second
 *     one with d=<identity domain>;
 *   - the MAIL FROM is a subdomain of amazonses.com unless a custom MAIL
 *     FROM domain has status SUCCESS; when it has another status,
 *     USE_DEFAULT_VALUE falls back to amazonses.com and REJECT_MESSAGE
 *     makes SES refuse the message.
 * A downstream signer's key is looked up at selector._domainkey.domain
 * through the DNS cache: unpublished or revoked keys mean a failing
 * signature.  The policy comes from dmarc_discover() (RFC 7489) or
 * dmarc_bis_discover() (RFC 9989), and relaxed alignment from align_aligned()
 * (align_bis.c), as align_check_method() is told; align_check() there runs
 * one or both as alignment.dmarc says.  DMARC passes when
 * one identifier that will verify aligns (RFC 7489 section 3.1).  When the
 * SES identity's settings are unknown because the source could not answer
 * (facts.ses_failed), nothing aligned is a TEMPERROR, not a FAIL.
 *
 * Decision: PASS and NONE accept; FAIL (and an SES refusal) follows the
 * configured action (per-domain overrides first); TEMPERROR follows
 * temperror_action only when the action is quarantine or enforce.
 *
 * pct (RFC 7489 6.6.4): the pct% of failing messages a receiver samples
 * get the policy, the others the next lower one (reject -> quarantine ->
 * none), so p=reject; pct=0 predicts quarantine.  With 0 < pct < 100 the
 * summary names both ("reject for 50% of messages, quarantine otherwise")
 * and receiver_policy is the stricter: a receiver may apply it to this very
 * message, so an enforcement decision must count with it.
 *
 * Several author domains in From (RFC 7489 6.6.1 lets the receiver pick):
 * align_check_authors() predicts DMARC for each and keeps the strictest
 * result, or refuses the message, as alignment.multiple_author_domains says.
 *
 * The "alignment" configuration section is parsed in align_conf.c; this
 * file applies it (align_action_for(), align_tag_header()).
 *
 * Diagnostics: none; reasons go into align_result, errors into err.
 */
#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "auth/align_int.h"
#include "lib/domain.h"
#include "lib/util.h"

#define ALIGN_SES_DOMAIN "amazonses.com"

/* align_action_names - indexed by align_action; also the "action" enum of align_conf.c */
const char *const align_action_names[] = {"monitor", "tag", "quarantine", "enforce", NULL};
static const char *const align_spf_names[] = {"none",     "neutral",   "pass",      "fail",
                                              "softfail", "temperror", "permerror", NULL};

/* align_spf_name - name of an SPF result ("unknown" when out of range) */
const char *
align_spf_name(align_spf s)
{
    return (unsigned)s < SM_ARRAY_LEN(align_spf_names) - 1 ? align_spf_names[s] : "unknown";
}

/* align_spf_parse - an SPF result name (case-insensitive) to align_spf; -1 if unknown */
int
align_spf_parse(const char *name)
{
    for (int i = 0; name != NULL && align_spf_names[i] != NULL; i++)
        if (strcasecmp(name, align_spf_names[i]) == 0)
            return i;
    return -1;
}

/* align_action_name - name of a configured action ("unknown" when out of range) */
const char *
align_action_name(align_action a)
{
    return (unsigned)a < SM_ARRAY_LEN(align_action_names) - 1 ? align_action_names[a] : "unknown";
}

/* align_dmarc_result_name - name of a predicted DMARC result */
const char *
align_dmarc_result_name(align_dmarc_result d)
{
    switch (d) {
    case ALIGN_DMARC_NONE:
        return "none";
    case ALIGN_DMARC_PASS:
        return "pass";
    case ALIGN_DMARC_FAIL:
        return "fail";
    case ALIGN_DMARC_TEMPERROR:
        return "temperror";
    }
    return "unknown";
}

/* align_decision_name - name of a decision */
const char *
align_decision_name(align_decision d)
{
    switch (d) {
    case ALIGN_ACCEPT:
        return "accept";
    case ALIGN_TAG:
        return "tag";
    case ALIGN_QUARANTINE:
        return "quarantine";
    case ALIGN_REJECT:
        return "reject";
    case ALIGN_TEMPFAIL:
        return "tempfail";
    }
    return "unknown";
}

/* ---- per-domain settings ---- */

/* align_action_for - the most specific override for the From domain, else the default */
align_action
align_action_for(const align_conf *c, const char *from_domain)
{
    char norm[DOMAIN_MAX];
    size_t best = 0, n;
    int action;

    if (c == NULL)
        return ALIGN_ACTION_MONITOR;
    action = c->action;
    if (from_domain == NULL ||
        domain_normalize(from_domain, DOMAIN_LOOSE, norm, sizeof(norm), NULL, 0) < 0)
        return (align_action)action;
    n = strlen(norm);
    for (size_t i = 0; i < c->n_overrides; i++) {
        const char *d = c->overrides[i].domain;
        size_t dl = strlen(d);
        if (dl > n || dl <= best || strcmp(norm + n - dl, d) != 0)
            continue;
        if (dl < n && norm[n - dl - 1] != '.')
            continue;
        best = dl;
        action = c->overrides[i].action;
    }
    return (align_action)action;
}

/* align_tag_header - the configured result header, else ALIGN_TAG_HEADER_DEFAULT */
const char *
align_tag_header(const align_conf *c)
{
    if (c != NULL && c->result_header != NULL && *c->result_header)
        return c->result_header;
    return ALIGN_TAG_HEADER_DEFAULT;
}

/* ---- the engine ---- */

/* align_facts_init - zero facts; relay and downstream signer from conf (may be NULL) */
void
align_facts_init(align_facts *f, const align_conf *c)
{
    memset(f, 0, sizeof(*f));
    if (c == NULL)
        return;
    f->relay = (align_relay)c->relay;
    f->signer_domain = c->signer_domain;
    f->signer_selector = c->signer_selector;
}

/* align_is - case-insensitive equality, NULL-safe */
static int
align_is(const char *a, const char *b)
{
    return a != NULL && b != NULL && strcasecmp(a, b) == 0;
}

/* align_ses_mail_from_ok - the custom MAIL FROM domain is set up and in use */
static int
align_ses_mail_from_ok(const sm_id_attrs *a)
{
    return a != NULL && a->mail_from_domain[0] && align_is(a->mail_from_status, "SUCCESS");
}

/* align_spf_domain - the domain the receiver will evaluate SPF for */
const char *
align_spf_domain(const align_facts *f)
{
    const char *at;

    if (f->relay == ALIGN_RELAY_SES)
        return align_ses_mail_from_ok(f->ses) ? f->ses->mail_from_domain : ALIGN_SES_DOMAIN;
    if (f->envelope_domain == NULL)
        return "";
    at = strrchr(f->envelope_domain, '@'); /* tolerate a whole address */
    return at ? at + 1 : f->envelope_domain;
}

/* align_reason - append one reason (silently dropped when the list is full) */
static void SM_PRINTF(2, 3) align_reason(align_result *r, const char *fmt, ...)
{
    va_list ap;

    if (r->nreasons >= ALIGN_MAX_REASONS)
        return;
    va_start(ap, fmt);
    vsnprintf(r->reasons[r->nreasons++], ALIGN_REASON_LEN, fmt, ap);
    va_end(ap);
}

/* align_advise - append a reason that is logged whatever the decision (r->advise) */
static void SM_PRINTF(2, 3) align_advise(align_result *r, const char *fmt, ...)
{
    va_list ap;

    if (r->nreasons >= ALIGN_MAX_REASONS)
        return;
    r->advise |= 1u << r->nreasons;
    va_start(ap, fmt);
    vsnprintf(r->reasons[r->nreasons++], ALIGN_REASON_LEN, fmt, ap);
    va_end(ap);
}

/* align_add_dkim - add a predicted signature; returns it, or NULL when the table is full */
static align_dkim_pred *
align_add_dkim(align_result *r, const char *domain, const char *selector, align_dkim_origin o,
               int pass)
{
    align_dkim_pred *p;

    if (r->ndkim >= ALIGN_MAX_DKIM || domain == NULL)
        return NULL;
    p = &r->dkim[r->ndkim++];
    if (domain_normalize(domain, DOMAIN_LOOSE, p->domain, sizeof(p->domain), NULL, 0) < 0) {
        util_strlcpy(p->domain, domain, sizeof(p->domain));
        pass = 0;
    }
    util_strlcpy(p->selector, selector ? selector : "", sizeof(p->selector));
    p->origin = o;
    p->pass = pass;
    p->aligned = pass && align_aligned(r, p->domain, r->dmarc.adkim);
    if (p->aligned)
        r->dkim_aligned = 1;
    return p;
}

/* align_ses_dkim_domain - the domain Easy DKIM signs with for the matched identity */
static const char *
align_ses_dkim_domain(const sm_id_attrs *a)
{
    const char *at = strrchr(a->identity, '@');

    return at ? at + 1 : a->identity;
}

/* align_ses_dkim - SES's signatures and the reasons when Easy DKIM does not apply */
static void
align_ses_dkim(const align_facts *f, align_result *r)
{
    const sm_id_attrs *a = f->ses;
    align_dkim_pred *p;

    align_add_dkim(r, ALIGN_SES_DOMAIN, "", ALIGN_DKIM_SES, 1);
    if (a == NULL && f->ses_failed != NULL) {
        /* a source that cannot answer is a temporary error, never "does not sign" */
        r->ses_tempfail = 1;
        align_reason(r,
                     "the SES identity's DKIM and MAIL FROM settings could not be fetched now "
                     "(%s): whether SES signs with the From domain is unknown",
                     f->ses_failed);
        return;
    }
    if (a == NULL) {
        align_reason(r, "the SES identity's attributes are unknown: assuming SES signs only "
                        "with d=amazonses.com");
        return;
    }
    if (a->dkim_signing_enabled == 1 && align_is(a->dkim_status, "SUCCESS")) {
        p = align_add_dkim(r, align_ses_dkim_domain(a), "", ALIGN_DKIM_SES, 1);
        if (p != NULL && !p->aligned)
            align_reason(r,
                         "SES signs with d=%s, which does not %salign with the From domain "
                         "%s; verify %s as its own identity with Easy DKIM",
                         p->domain, r->dmarc.adkim == DMARC_ALIGN_STRICT ? "strictly " : "",
                         r->from_domain, r->from_domain);
        return;
    }
    if (a->identity_type == SM_IDTYPE_EMAIL_ADDRESS)
        align_reason(r,
                     "SES signs with d=amazonses.com because only the address identity %s "
                     "is verified; verify the domain %s and enable Easy DKIM",
                     a->identity, r->from_domain);
    else if (a->dkim_signing_enabled == SM_TRI_UNKNOWN && !a->dkim_status[0])
        align_reason(r,
                     "the DKIM settings of the SES identity %s are unknown: assuming SES "
                     "signs only with d=amazonses.com",
                     a->identity);
    else if (a->dkim_signing_enabled == 0)
        align_reason(r,
                     "DKIM signing is disabled for the SES identity %s, so SES signs only "
                     "with d=amazonses.com; enable Easy DKIM signing for %s",
                     a->identity, a->identity);
    else
        align_reason(r,
                     "Easy DKIM for %s has status %s, so SES signs only with "
                     "d=amazonses.com; publish the three CNAME records "
                     "TOKEN._domainkey.%s -> TOKEN.dkim.amazonses.com that SES lists",
                     a->identity, a->dkim_status[0] ? a->dkim_status : "unknown", a->identity);
}

/* align_key_published - whether some TXT record is a DKIM key with a non-empty p= */
static int
align_key_published(const dns_txt *t)
{
    for (size_t i = 0; i < t->n; i++) {
        const char *s = t->rr[i];
        for (const char *p = s; (p = strstr(p, "p=")) != NULL; p += 2) {
            const char *q = p + 2;
            const char *b = p;
            while (b > s && (b[-1] == ' ' || b[-1] == '\t'))
                b--;
            if (b != s && b[-1] != ';')
                continue; /* "p=" inside another tag, e.g. "nop=" */
            while (*q == ' ' || *q == '\t')
                q++;
            if (*q && *q != ';')
                return 1;
        }
    }
    return 0;
}

/* align_signer_dkim - the downstream signer's signature, judged by its published key */
static void
align_signer_dkim(dns_cache *c, const align_facts *f, align_result *r)
{
    char name[512], err[256];
    dns_txt *txt = NULL;
    dns_status st;
    int pass = 0;

    if (f->signer_domain == NULL || !*f->signer_domain)
        return;
    snprintf(name, sizeof(name), "%s._domainkey.%s", f->signer_selector ? f->signer_selector : "",
             f->signer_domain);
    st = c ? dns_lookup_txt(c, name, f->deadline_ms, &txt, err, sizeof(err)) : DNS_TEMPFAIL;
    if (st == DNS_OK && align_key_published(txt))
        pass = 1;
    else if (st == DNS_TEMPFAIL) {
        r->key_tempfail = 1;
        align_reason(r,
                     "the DKIM key of the downstream signer at %s could not be looked up "
                     "(temporary DNS failure)",
                     name);
    } else if (st == DNS_OK)
        align_reason(r,
                     "the DKIM key at %s is revoked or malformed (no p= value): the "
                     "downstream signer's signature would fail",
                     name);
    else
        align_reason(r,
                     "no DKIM key is published at %s: the downstream signer's signature "
                     "would fail; publish the key",
                     name);
    dns_txt_free(txt);
    align_add_dkim(r, f->signer_domain, f->signer_selector, ALIGN_DKIM_SIGNER, pass);
}

/* align_spf_predict - predicted SPF domain, its result, and alignment */
static void
align_spf_predict(const align_facts *f, align_result *r)
{
    const sm_id_attrs *a = f->ses;
    const char *d = align_spf_domain(f);

    if (f->relay == ALIGN_RELAY_SES && a != NULL && a->mail_from_domain[0] &&
        !align_ses_mail_from_ok(a)) {
        if (align_is(a->mail_from_behavior, "REJECT_MESSAGE")) {
            r->ses_would_reject = 1;
            align_advise(r,
                         "SES would refuse the message (MailFromDomainNotVerified): the "
                         "custom MAIL FROM domain %s has status %s and the behaviour on MX "
                         "failure is REJECT_MESSAGE; publish its MX record "
                         "(feedback-smtp.REGION.amazonses.com) and SPF record",
                         a->mail_from_domain,
                         a->mail_from_status[0] ? a->mail_from_status : "unknown");
        } else {
            align_advise(r,
                         "the custom MAIL FROM domain %s has status %s, so SES uses a "
                         "MAIL FROM under amazonses.com and SPF does not align; publish "
                         "its MX record (feedback-smtp.REGION.amazonses.com)",
                         a->mail_from_domain,
                         a->mail_from_status[0] ? a->mail_from_status : "unknown");
        }
    }
    if (*d == '\0' ||
        domain_normalize(d, DOMAIN_LOOSE, r->spf_domain, sizeof(r->spf_domain), NULL, 0) < 0)
        r->spf_domain[0] = '\0';
    if (f->spf_domain == NULL || dmarc_aligned(f->spf_domain, r->spf_domain, DMARC_ALIGN_STRICT))
        r->spf_result = f->spf_result;
    else
        r->spf_result = ALIGN_SPF_NONE; /* the result given is about another domain */
    if (r->spf_result == ALIGN_SPF_NONE && strcmp(r->spf_domain, ALIGN_SES_DOMAIN) == 0)
        r->spf_result = ALIGN_SPF_PASS; /* SES's own MAIL FROM always passes */
    if (r->spf_domain[0] == '\0')
        return;
    r->spf_aligned =
        r->spf_result == ALIGN_SPF_PASS && align_aligned(r, r->spf_domain, r->dmarc.aspf);
    if (align_aligned(r, r->spf_domain, r->dmarc.aspf) && r->spf_result != ALIGN_SPF_PASS)
        align_reason(r, "SPF for %s would be %s, so SPF does not count for DMARC%s", r->spf_domain,
                     align_spf_name(r->spf_result),
                     f->relay == ALIGN_RELAY_SES
                         ? "; publish \"v=spf1 include:amazonses.com ~all\" there"
                         : "; authorise the egress addresses in its SPF record");
}

/* align_fmt - snprintf into buf; truncation of long names is acceptable in reasons */
static void SM_PRINTF(3, 4) align_fmt(char *buf, size_t len, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(buf, len, fmt, ap);
    va_end(ap);
}

/* align_summary - the first reason: the verdict in one sentence */
static void
align_summary(const align_result *r, char *buf, size_t len)
{
    const dmarc_lookup *d = &r->dmarc;

    switch (r->dmarc_result) {
    case ALIGN_DMARC_PASS:
        align_fmt(buf, len, "DMARC would pass for %s via %s%s%s (policy %s at %s)", r->from_domain,
                  r->dkim_aligned ? "aligned DKIM" : "",
                  r->dkim_aligned && r->spf_aligned ? " and " : "",
                  r->spf_aligned ? "aligned SPF" : "", dmarc_policy_name(d->policy), d->where);
        return;
    case ALIGN_DMARC_FAIL: {
        char disp[160];
        dmarc_disposition(d, NULL, NULL, disp, sizeof(disp));
        align_fmt(buf, len,
                  "DMARC would fail for %s: no aligned DKIM signature and no aligned "
                  "SPF; the receiver would apply %s, from %s",
                  r->from_domain, disp, d->where);
        return;
    }
    case ALIGN_DMARC_TEMPERROR:
        if (r->ses_tempfail && d->status != DMARC_DISC_TEMPFAIL) {
            align_fmt(buf, len,
                      "DMARC for %s cannot be predicted now (the identity source could not "
                      "answer)",
                      r->from_domain);
            return;
        }
        align_fmt(buf, len, "DMARC for %s cannot be predicted now (temporary DNS failure)%s",
                  r->from_domain, d->detail[0] ? ": " : "");
        if (d->status == DMARC_DISC_TEMPFAIL)
            util_strlcpy(buf + strlen(buf), d->detail, len - strlen(buf));
        return;
    case ALIGN_DMARC_NONE:
        break;
    }
    if (d->status == DMARC_DISC_BAD_DOMAIN)
        align_fmt(buf, len, "the From domain \"%s\" is not a domain name: no DMARC evaluation",
                  r->from_domain);
    else if (d->status == DMARC_DISC_NONE)
        align_fmt(buf, len,
                  "%s publishes no DMARC policy (%s), so receivers apply none; "
                  "publish one at _dmarc.%s, e.g. \"v=DMARC1; p=none; rua=mailto:...\", "
                  "then tighten it",
                  r->from_domain, d->detail, d->org_domain);
    else
        align_fmt(buf, len,
                  "%s has no usable DMARC policy: %s; publish exactly one valid "
                  "record",
                  r->from_domain, d->detail);
}

/*
 * align_summary_ses_refusal - SES refuses the message before any receiver sees it:
 * that is the summary (and the reply under enforce); the DMARC prediction for the
 * identity as it is set up now follows as advice
 */
static void
align_summary_ses_refusal(const sm_id_attrs *a, align_result *r, const char *dmarc_summary)
{
    align_fmt(r->reasons[0], ALIGN_REASON_LEN,
              "SES would refuse the message: the MAIL FROM domain %s is not verified "
              "(MailFromDomainStatus %s, BehaviorOnMxFailure REJECT_MESSAGE)",
              a->mail_from_domain, a->mail_from_status[0] ? a->mail_from_status : "unknown");
    r->advise |= 1u;
    align_reason(r, "were SES to send it as set up now: %s", dmarc_summary);
}

/* align_decide - the decision from the DMARC result and the configured actions */
static align_decision
align_decide(const align_conf *conf, align_result *r)
{
    int temp = conf ? conf->temperror_action : ALIGN_TEMPERROR_TEMPFAIL;
    static const align_decision on_fail[] = {ALIGN_ACCEPT, ALIGN_TAG, ALIGN_QUARANTINE,
                                             ALIGN_REJECT};
    int fail = r->dmarc_result == ALIGN_DMARC_FAIL || r->ses_would_reject;

    r->action = align_action_for(conf, r->from_domain);
    if (fail)
        return on_fail[r->action];
    if (r->dmarc_result != ALIGN_DMARC_TEMPERROR)
        return ALIGN_ACCEPT;
    if (r->action == ALIGN_ACTION_QUARANTINE || r->action == ALIGN_ACTION_ENFORCE)
        return temp == ALIGN_TEMPERROR_ACCEPT ? ALIGN_ACCEPT : ALIGN_TEMPFAIL;
    return r->action == ALIGN_ACTION_TAG ? ALIGN_TAG : ALIGN_ACCEPT;
}

/* align_spf_advice - why SPF does not align (advice whatever the DMARC result) */
static void
align_spf_advice(const align_facts *f, align_result *r)
{
    const sm_id_attrs *a = f->ses;

    if (r->spf_aligned || r->spf_domain[0] == '\0' || r->spf_result != ALIGN_SPF_PASS)
        return;
    if (strcmp(r->spf_domain, ALIGN_SES_DOMAIN) == 0) {
        if (a == NULL || a->mail_from_domain[0] == '\0')
            align_advise(r,
                         "SPF is evaluated for amazonses.com, which does not align with %s; "
                         "a custom MAIL FROM domain such as bounce.%s would align SPF",
                         r->from_domain, r->from_domain);
    } else if (align_aligned(r, r->spf_domain, DMARC_ALIGN_RELAXED)) {
        align_advise(r,
                     "SPF passes for %s, but aspf=s requires the envelope sender domain to "
                     "be exactly %s",
                     r->spf_domain, r->from_domain);
    } else {
        align_advise(r,
                     "SPF is evaluated for %s, which does not align with %s; use an "
                     "envelope sender address in %s",
                     r->spf_domain, r->from_domain, r->from_domain);
    }
}

/* align_dmarc_verdict - DMARC result and the policy the receiver applies */
static void
align_dmarc_verdict(const align_facts *f, align_result *r)
{
    const dmarc_lookup *d = &r->dmarc;
    int aligned = r->dkim_aligned || r->spf_aligned;

    r->pct = d->pct;
    if (d->status == DMARC_DISC_TEMPFAIL)
        r->dmarc_result = ALIGN_DMARC_TEMPERROR;
    else if (d->status != DMARC_DISC_FOUND)
        r->dmarc_result = ALIGN_DMARC_NONE;
    else if (aligned)
        r->dmarc_result = ALIGN_DMARC_PASS;
    else if (r->key_tempfail || r->ses_tempfail || r->walk_tempfail ||
             r->spf_result == ALIGN_SPF_TEMPERROR)
        r->dmarc_result = ALIGN_DMARC_TEMPERROR;
    else
        r->dmarc_result = ALIGN_DMARC_FAIL;
    /* pct (RFC 7489 6.6.4): receiver_policy is the stricter of the two a receiver
     * may apply to this very message (the pct% sampled get the policy, the rest the
     * next lower one), so an enforcement decision counts with it */
    r->receiver_policy = r->receiver_policy_rest = DMARC_POLICY_UNSPEC;
    if (r->dmarc_result == ALIGN_DMARC_FAIL)
        dmarc_disposition(d, &r->receiver_policy, &r->receiver_policy_rest, NULL, 0);
    if (r->dmarc_result == ALIGN_DMARC_FAIL && d->policy == DMARC_POLICY_NONE)
        align_reason(r, "the policy is p=none, so receivers only report the failure; fix "
                        "alignment before moving to quarantine or reject");
    align_spf_advice(f, r); /* whatever the result: every SPF that does not align is advised */
}

/* align_check_method - predict alignment and DMARC by one specification, then decide */
align_decision
align_check_method(const align_conf *conf, dns_cache *c, const align_facts *f, align_result *r,
                   dmarc_method method)
{
    char summary[ALIGN_REASON_LEN];

    memset(r, 0, sizeof(*r));
    r->method = method;
    r->nreasons = 1; /* [0] is the summary, written last */
    if (conf != NULL && !conf->enabled) {
        util_strlcpy(r->from_domain, f->from_domain ? f->from_domain : "", sizeof(r->from_domain));
        util_strlcpy(r->reasons[0], "alignment checks are disabled", ALIGN_REASON_LEN);
        return r->decision = ALIGN_ACCEPT;
    }
    if (f->from_domain == NULL || domain_normalize(f->from_domain, DOMAIN_LOOSE, r->from_domain,
                                                   sizeof(r->from_domain), NULL, 0) < 0) {
        util_strlcpy(r->from_domain, f->from_domain ? f->from_domain : "", sizeof(r->from_domain));
        r->dmarc.status = DMARC_DISC_BAD_DOMAIN;
    } else if (c == NULL) {
        r->dmarc.status = DMARC_DISC_TEMPFAIL;
        util_strlcpy(r->dmarc.detail, "no DNS cache", sizeof(r->dmarc.detail));
    } else if (method == DMARC_RFC9989) {
        dmarc_bis_discover(c, r->from_domain, f->deadline_ms, &r->dmarc);
        align_bis_walk(c, f, r);
    } else {
        dmarc_discover(c, r->from_domain, f->deadline_ms, &r->dmarc);
    }
    if (r->dmarc.status != DMARC_DISC_FOUND) {
        r->dmarc.adkim = r->dmarc.aspf = DMARC_ALIGN_RELAXED;
        r->dmarc.pct = 100;
    }
    for (size_t i = 0; i < f->nsigs && f->sigs != NULL; i++) {
        align_dkim_pred *p = NULL;

        /* keep three slots for SES's two signatures and the downstream signer; a
         * signature beyond the table still counts towards alignment */
        if (r->ndkim < ALIGN_MAX_DKIM - 3)
            p = align_add_dkim(r, f->sigs[i].domain, f->sigs[i].selector, ALIGN_DKIM_EXISTING,
                               f->sigs[i].pass != 0);
        else if (f->sigs[i].pass && f->sigs[i].domain != NULL &&
                 align_aligned(r, f->sigs[i].domain, r->dmarc.adkim))
            r->dkim_aligned = 1;
        if (p != NULL && p->pass && !p->aligned)
            align_reason(r, "the existing DKIM signature d=%s does not %salign with %s", p->domain,
                         r->dmarc.adkim == DMARC_ALIGN_STRICT ? "strictly " : "", r->from_domain);
    }
    if (f->relay == ALIGN_RELAY_SES)
        align_ses_dkim(f, r);
    align_signer_dkim(c, f, r);
    align_spf_predict(f, r);
    r->dmarc_published = r->dmarc.status == DMARC_DISC_FOUND;
    align_dmarc_verdict(f, r);
    align_summary(r, summary, sizeof(summary));
    if (r->ses_would_reject)
        align_summary_ses_refusal(f->ses, r, summary);
    else
        util_strlcpy(r->reasons[0], summary, ALIGN_REASON_LEN);
    r->decision = align_decide(conf, r);
    return r->decision;
}

/* how strict a result is: the decision, then the DMARC result, then the receiver's policy */
int
align_strictness(const align_result *r)
{
    static const int decision[] = {[ALIGN_ACCEPT] = 0,
                                   [ALIGN_TAG] = 1,
                                   [ALIGN_TEMPFAIL] = 2,
                                   [ALIGN_QUARANTINE] = 3,
                                   [ALIGN_REJECT] = 4};
    static const int dmarc[] = {[ALIGN_DMARC_PASS] = 0,
                                [ALIGN_DMARC_NONE] = 1,
                                [ALIGN_DMARC_TEMPERROR] = 2,
                                [ALIGN_DMARC_FAIL] = 3};

    return decision[r->decision] * 100 + dmarc[r->dmarc_result] * 10 + (int)r->receiver_policy;
}

/* align_check_authors - align_check for every author domain (see align.h) */
align_decision
align_check_authors(const align_conf *conf, dns_cache *c, const align_facts *f,
                    const char *const *domains, size_t n, align_result *r)
{
    align_facts one = *f;
    const char *distinct[16];
    size_t nd = 0;
    char list[ALIGN_REASON_LEN / 2] = "";
    align_result *cur;

    for (size_t i = 0; i < n && nd < SM_ARRAY_LEN(distinct); i++) {
        size_t k = 0;
        while (k < nd && strcasecmp(distinct[k], domains[i]) != 0)
            k++;
        if (k == nd)
            distinct[nd++] = domains[i];
    }
    one.from_domain = nd > 0 ? distinct[0] : NULL;
    if (nd <= 1 || (conf != NULL && !conf->enabled))
        return align_check(conf, c, &one, r);
    for (size_t k = 0; k < nd; k++)
        snprintf(list + strlen(list), sizeof(list) - strlen(list), "%s%s", k ? ", " : "",
                 distinct[k]);
    align_check(conf, c, &one, r);
    if (conf != NULL && conf->multiple_authors == ALIGN_AUTHORS_REJECT) {
        /* the first domain's prediction stays for the record; the refusal is the summary */
        align_reason(r, "%s", r->reasons[0]);
        snprintf(r->reasons[0], ALIGN_REASON_LEN,
                 "The From header field names mailboxes in several domains (%s); "
                 "such mail is refused here (alignment.multiple_author_domains = reject)",
                 list);
        return r->decision = ALIGN_REJECT;
    }
    cur = xcalloc(1, sizeof(*cur));
    for (size_t k = 1; k < nd; k++) {
        one.from_domain = distinct[k];
        align_check(conf, c, &one, cur);
        if (align_strictness(cur) > align_strictness(r))
            *r = *cur;
    }
    free(cur);
    align_reason(r,
                 "the From header field names mailboxes in %zu domains (%s): DMARC was "
                 "predicted for each, and the strictest result, for %s, decides",
                 nd, list, r->from_domain);
    return r->decision;
}

/* align_header_value - one-line summary for the result header */
char *
align_header_value(const align_result *r, char *buf, size_t len)
{
    size_t off;

    snprintf(buf, len, "dmarc=%s", align_dmarc_result_name(r->dmarc_result));
    off = strlen(buf);
    if (r->dmarc_published && off < len)
        off += (size_t)snprintf(buf + off, len - off,
                                r->dmarc.pct < 100 ? " (p=%s; pct=%d)" : " (p=%s)",
                                dmarc_policy_name(r->dmarc.policy), r->dmarc.pct);
    if (off < len)
        off += (size_t)snprintf(buf + off, len - off, " header.from=%s", r->from_domain);
    for (size_t i = 0; i < r->ndkim && off < len; i++)
        off += (size_t)snprintf(buf + off, len - off, " dkim=%s:%s", r->dkim[i].domain,
                                r->dkim[i].aligned ? "aligned"
                                : r->dkim[i].pass  ? "unaligned"
                                                   : "fail");
    if (off < len)
        off += (size_t)snprintf(
            buf + off, len - off, " spf=%s:%s:%s", r->spf_domain[0] ? r->spf_domain : "-",
            align_spf_name(r->spf_result), r->spf_aligned ? "aligned" : "unaligned");
    if (r->other.differ && off < len) /* the specifications disagree: which decided, the other */
        snprintf(buf + off, len - off, " method=%s %s=%s", dmarc_method_name(r->method),
                 dmarc_method_name(r->other.method), align_dmarc_result_name(r->other.result));
    for (char *p = buf; *p; p++)
        if ((unsigned char)*p < 0x20 || (unsigned char)*p >= 0x7f)
            *p = '?';
    return buf;
}

/* align_reasons_join - all reasons joined with "; " */
char *
align_reasons_join(const align_result *r, char *buf, size_t len)
{
    if (len == 0)
        return buf;
    buf[0] = '\0';
    for (size_t i = 0; i < r->nreasons; i++) {
        if (i > 0)
            strncat(buf, "; ", len - strlen(buf) - 1);
        strncat(buf, r->reasons[i], len - strlen(buf) - 1);
    }
    return buf;
}
