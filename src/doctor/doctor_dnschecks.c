/*
 * doctor_dnschecks.c - the doctor's SPF and DMARC checks
 *
 * Purpose: one line each, through the project's own SPF and DMARC code:
 *   spf        exactly one v=spf1 record (RFC 7208 3.2), strict syntax
 *              (spf_syntax.c), quoted or split wrongly, the 10-lookup and
 *              2-void-lookup limits (spf.c counts them while evaluating)
 *   spf-relay  with relay = "direct": the relay's addresses (alignment.egress_ips) pass
 *   dmarc      a record at _dmarc.D or the organisational domain
 *              (dmarc_discover), its policy, alignment modes and rua;
 *              when there is none: misplaced, quoted or case-changed ones
 *   dmarc-ses  what the record means for this domain's mail through SES
 *   dmarc-rfc9989  RFC 9989's tree walk (dmarc_bis.c) and RFC 7489's
 *              public-suffix discovery disagree: a warning with both answers
 */
#include "config.h"

#include <arpa/nameser.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "engine/services.h"
#include "auth/dmarc.h"
#include "doctor/doctor.h"
#include "auth/spf_syntax.h"

#define DOCTOR_SPF_PROBE_IP "192.0.2.1" /* TEST-NET-1: matches nothing, walks every term */

/* doctor_spf_merged - one record with the terms of several (the first "all" kept) */
static char *
doctor_spf_merged(const doctor_answer *a)
{
    char *out = xstrdup("v=spf1"), *all = NULL, *tmp;

    for (size_t i = 0; i < a->n; i++) {
        char *save = NULL, *copy;
        if (!spf_syntax_is_spf1(a->rr[i].txt, a->rr[i].txtlen))
            continue;
        copy = xstrdup(a->rr[i].txt + 6);
        for (char *t = strtok_r(copy, " ", &save); t != NULL; t = strtok_r(NULL, " ", &save)) {
            size_t l = strlen(t);
            if (l >= 3 && strcasecmp(t + l - 3, "all") == 0 && l <= 4) {
                if (all == NULL)
                    all = xstrdup(t);
                continue;
            }
            if (strstr(out, t) != NULL)
                continue;
            tmp = xasprintf("%s %s", out, t);
            free(out);
            out = tmp;
        }
        free(copy);
    }
    tmp = xasprintf("%s %s", out, all != NULL ? all : "~all");
    free(out);
    free(all);
    return tmp;
}

/* doctor_spf_limits - evaluate the record: syntax of included records and the lookup limits */
static void
doctor_spf_limits(doctor_ctx *ctx, doctor_report *r, const char *txt)
{
    spf_detail det;
    spf_result res;

    memset(&det, 0, sizeof(det));
    res = spf_check(ctx->spf, DOCTOR_SPF_PROBE_IP, r->domain, NULL, NULL, ctx->deadline_ms, &det);
    if (res == SPF_R_TEMPERROR)
        doctor_report_add(r, "spf", DOCTOR_ERROR, "%s: SPF evaluation: temporary DNS error",
                          r->domain);
    else if (res == SPF_R_PERMERROR && det.dns_terms > 10)
        doctor_report_add(r, "spf", DOCTOR_FAIL,
                          "%s: more than 10 DNS lookups (RFC 7208 4.6.4): receivers answer "
                          "permerror; flatten includes into ip4:/ip6: terms",
                          r->domain);
    else if (res == SPF_R_PERMERROR && det.void_lookups > 2)
        doctor_report_add(r, "spf", DOCTOR_FAIL,
                          "%s: %d void lookups (limit 2, RFC 7208 4.6.4): remove the terms whose "
                          "names do not exist",
                          r->domain, det.void_lookups);
    else if (res == SPF_R_PERMERROR)
        doctor_report_add(r, "spf", DOCTOR_FAIL, "%s: SPF permerror: %s", r->domain, det.reason);
    else
        doctor_report_add(r, "spf", DOCTOR_PASS, "%s TXT \"%s\" (%d of 10 DNS lookups, %d void)",
                          r->domain, txt, det.dns_terms, det.void_lookups);
}

/* doctor_spf_relay - alignment.egress_ips must pass for the domain */
static void
doctor_spf_relay(doctor_ctx *ctx, doctor_report *r)
{
    const cfg_strlist *ips = &services_of(ctx->conf)->align->egress_ips;

    if (services_of(ctx->conf)->align->relay != ALIGN_RELAY_DIRECT)
        return; /* SES sends from its own addresses, checked at the MAIL FROM domain */

    for (size_t i = 0; i < ips->n; i++) {
        spf_detail det;
        spf_result res =
            spf_check(ctx->spf, ips->v[i], r->domain, NULL, NULL, ctx->deadline_ms, &det);
        if (res != SPF_R_PASS) {
            doctor_check *c = doctor_report_add(r, "spf-relay",
                                                res == SPF_R_TEMPERROR ? DOCTOR_ERROR : DOCTOR_FAIL,
                                                "the relay's address %s gets spf=%s for %s",
                                                ips->v[i], spf_result_name(res), r->domain);
            doctor_check_fix(c, "add %s:%s to the SPF record of %s",
                             strchr(ips->v[i], ':') != NULL ? "ip6" : "ip4", ips->v[i], r->domain);
            return;
        }
    }
    if (ips->n > 0)
        doctor_report_add(r, "spf-relay", DOCTOR_PASS, "the relay's %zu address(es) pass for %s",
                          ips->n, r->domain);
}

void
doctor_checks_spf(doctor_ctx *ctx, doctor_report *r)
{
    doctor_answer a;
    dns_status st = doctor_dns_ask(ctx, r->domain, ns_t_txt, &a);
    size_t nspf = 0, k = 0, quoted = 0;
    char err[256];
    doctor_check *c;

    for (size_t i = 0; i < a.n; i++) {
        if (spf_syntax_is_spf1(a.rr[i].txt, a.rr[i].txtlen)) {
            nspf++;
            k = i;
        } else if (strncasecmp(a.rr[i].txt, "\"v=spf1", 7) == 0 ||
                   strncasecmp(a.rr[i].txt, "\\\"v=spf1", 8) == 0) {
            quoted++;
            k = i;
        }
    }
    if (st == DNS_TEMPFAIL) {
        doctor_report_add(r, "spf", DOCTOR_ERROR, "%s: the resolver did not answer", r->domain);
    } else if (quoted > 0 && nspf == 0) {
        c = doctor_report_add(r, "spf", DOCTOR_FAIL,
                              "%s: SPF record quoted wrongly: the quotes are part of the value",
                              r->domain);
        doctor_check_fix(c, "%s. TXT \"%.*s\"", r->domain,
                         (int)strcspn(a.rr[k].txt + 1 + (a.rr[k].txt[0] == '\\'), "\"\\"),
                         a.rr[k].txt + 1 + (a.rr[k].txt[0] == '\\'));
    } else if (nspf == 0) {
        doctor_report_add(r, "spf", DOCTOR_WARN,
                          "%s: no SPF record: mail through SES is checked at its MAIL FROM "
                          "domain; other mail from %s gets spf=none",
                          r->domain, r->domain);
    } else if (nspf > 1) {
        char *m = doctor_spf_merged(&a);
        c = doctor_report_add(r, "spf", DOCTOR_FAIL,
                              "%s: %zu SPF records: receivers answer permerror (RFC 7208 3.2); "
                              "merge them into one",
                              r->domain, nspf);
        doctor_check_fix(c, "%s. TXT \"%s\"", r->domain, m);
        free(m);
    } else {
        spf_syntax_rec *rec = spf_syntax_parse(a.rr[k].txt, a.rr[k].txtlen, err, sizeof(err));
        spf_syntax_rec *sp = NULL;

        if (a.rr[k].nstrings > 1)
            sp = spf_syntax_parse(a.rr[k].spaced, strlen(a.rr[k].spaced), err, sizeof(err));
        /* a string boundary between two terms without a space: joined, they make one term */
        if (sp != NULL && (rec == NULL || sp->n > rec->n)) {
            c = doctor_report_add(r, "spf", DOCTOR_FAIL,
                                  "%s: SPF record split wrongly: its %zu strings are joined "
                                  "without a space (\"%s\")",
                                  r->domain, a.rr[k].nstrings, a.rr[k].txt);
            doctor_check_fix(c, "%s. TXT \"%s\"", r->domain, a.rr[k].spaced);
        } else if (rec == NULL) {
            spf_syntax_free(spf_syntax_parse(a.rr[k].txt, a.rr[k].txtlen, err, sizeof(err)));
            doctor_report_add(r, "spf", DOCTOR_FAIL, "%s: SPF syntax: %s", r->domain, err);
        } else {
            doctor_spf_limits(ctx, r, a.rr[k].txt);
        }
        spf_syntax_free(rec);
        spf_syntax_free(sp);
    }
    doctor_answer_clear(&a);
    doctor_spf_relay(ctx, r);
}

/*
 * doctor_dmarc_rfc9989_differs - 1 with a sentence in text when RFC 9989's
 * policy discovery (the DNS tree walk, dmarc_bis.c) finds another record,
 * policy or organisational domain than RFC 7489's (l); the doctor then prints
 * "! dmarc-rfc9989  RFC 9989 and RFC 7489 differ: TEXT"
 */
static int
doctor_dmarc_rfc9989_differs(doctor_ctx *ctx, const char *domain, const dmarc_lookup *l, char *text,
                             size_t len)
{
    dmarc_lookup b;

    dmarc_bis_discover(ctx->dns, domain, ctx->deadline_ms, &b);
    return dmarc_bis_differ(l, &b, text, len);
}

/* doctor_want_dmarc - a probe hit: a DMARC record, whatever its case */
static int
doctor_want_dmarc(const doctor_rr *rr, const void *arg)
{
    (void)arg;
    return strncasecmp(rr->txt, "v=dmarc1", 8) == 0 || strncasecmp(rr->txt, "\"v=dmarc1", 9) == 0;
}

/* doctor_dmarc_missing - no usable record: what is published instead, and the record to add */
static void
doctor_dmarc_missing(doctor_ctx *ctx, doctor_report *r, const dmarc_lookup *l)
{
    char name[300], why[2048], value[600] = "";
    doctor_answer a;
    doctor_variant v;
    doctor_check *c;

    snprintf(name, sizeof(name), "_dmarc.%s", r->domain);
    snprintf(why, sizeof(why),
             "no DMARC record at %s%s%s: Gmail, Yahoo and Outlook.com require "
             "one (at least p=none) for bulk senders",
             name, strcmp(l->org_domain, r->domain) != 0 ? " or _dmarc." : "",
             strcmp(l->org_domain, r->domain) != 0 ? l->org_domain : "");
    if (doctor_dns_ask(ctx, name, ns_t_txt, &a) == DNS_OK && doctor_want_dmarc(&a.rr[0], NULL)) {
        if (a.rr[0].txt[0] == '"') {
            snprintf(why, sizeof(why),
                     "%s: DMARC record quoted wrongly: the quotes are part of "
                     "the value",
                     name);
            snprintf(value, sizeof(value), "%.*s", (int)strcspn(a.rr[0].txt + 1, "\""),
                     a.rr[0].txt + 1);
        } else {
            snprintf(why, sizeof(why),
                     "%s: \"%.60s\": the value's case was changed (v=DMARC1 "
                     "must be written exactly so)",
                     name, a.rr[0].txt);
            snprintf(value, sizeof(value), "v=DMARC1%s", a.rr[0].txt + 8);
        }
    } else if (doctor_probe_find(ctx, "_dmarc", r->domain, NULL, ns_t_txt, doctor_want_dmarc, NULL,
                                 &v)) {
        snprintf(why, sizeof(why), "%s: no DMARC record; found at %s: %s", name, v.name, v.why);
    } else {
        v.name[0] = '\0';
    }
    c = doctor_report_add(r, "dmarc", DOCTOR_FAIL, "%s", why);
    if (strstr(why, "found at") != NULL)
        doctor_check_fix(c, "remove: %s. TXT", v.name);
    if (value[0])
        doctor_check_fix(c, "%s. TXT \"%s\"", name, value);
    else
        doctor_check_fix(c, "%s. TXT \"v=DMARC1; p=none; rua=mailto:dmarc-reports@%s\"", name,
                         r->domain);
    doctor_answer_clear(&a);
}

/* doctor_dmarc_ses - whether mail through SES passes this record */
static void
doctor_dmarc_ses(doctor_report *r, const dmarc_lookup *l)
{
    const doctor_ses *s = &r->ses;
    const sm_id_attrs *at = &s->dom.attrs;
    int dkim = s->have_domain && strcmp(at->dkim_status, "SUCCESS") == 0 &&
               at->dkim_signing_enabled != 0 &&
               dmarc_aligned(s->domain_identity, r->domain, l->adkim);
    int spf = s->have_domain && at->mail_from_domain[0] &&
              strcmp(at->mail_from_status, "SUCCESS") == 0 &&
              dmarc_aligned(at->mail_from_domain, r->domain, l->aspf);

    if (!s->describe || !s->have_domain)
        return;
    if (dkim && spf)
        doctor_report_add(r, "dmarc-ses", DOCTOR_PASS,
                          "mail through SES passes DMARC via DKIM (d=%s) and SPF (%s)",
                          s->domain_identity, at->mail_from_domain);
    else if (dkim)
        doctor_report_add(r, "dmarc-ses", DOCTOR_PASS,
                          "mail through SES passes DMARC via DKIM (d=%s)%s", s->domain_identity,
                          l->aspf == DMARC_ALIGN_STRICT
                              ? "; aspf=s: SPF can never align (SES's MAIL FROM is a subdomain)"
                              : "; SPF does not align");
    else if (spf)
        doctor_report_add(r, "dmarc-ses", DOCTOR_WARN,
                          "mail through SES passes DMARC via SPF (%s) only: a forwarded message "
                          "fails; fix DKIM",
                          at->mail_from_domain);
    else
        doctor_report_add(r, "dmarc-ses",
                          l->policy == DMARC_POLICY_NONE ? DOCTOR_WARN : DOCTOR_FAIL,
                          "mail through SES fails DMARC for %s: DKIM d=%s %s, and SPF does not "
                          "align: receivers apply p=%s",
                          r->domain, s->domain_identity,
                          strcmp(at->dkim_status, "SUCCESS") != 0 ? "is not signing yet"
                          : l->adkim == DMARC_ALIGN_STRICT        ? "does not align under adkim=s"
                                                                  : "is not signing",
                          dmarc_policy_name(l->policy));
}

void
doctor_checks_dmarc(doctor_ctx *ctx, doctor_report *r)
{
    dmarc_lookup l;
    char text[512];
    dmarc_disc_status st = dmarc_discover(ctx->dns, r->domain, ctx->deadline_ms, &l);

    if (st == DMARC_DISC_TEMPFAIL) {
        doctor_report_add(r, "dmarc", DOCTOR_ERROR, "%s: %s", l.where, l.detail);
        return;
    }
    if (st == DMARC_DISC_NONE || st == DMARC_DISC_BAD_DOMAIN) {
        doctor_dmarc_missing(ctx, r, &l);
    } else if (st == DMARC_DISC_MULTIPLE) {
        doctor_report_add(r, "dmarc", DOCTOR_FAIL,
                          "%s: several DMARC records: receivers ignore them all; keep one",
                          l.where);
    } else if (st == DMARC_DISC_INVALID) {
        doctor_report_add(r, "dmarc", DOCTOR_FAIL, "%s: the DMARC record does not parse (%s)%s%s",
                          l.where, dmarc_parse_status_name(l.parse_status), l.detail[0] ? ": " : "",
                          l.detail);
    } else {
        int warn = l.policy == DMARC_POLICY_NONE || l.rec.rua[0] == '\0';
        doctor_report_add(
            r, "dmarc", warn ? DOCTOR_WARN : DOCTOR_PASS, "%s%s: %s=%s adkim=%s aspf=%s%s%s%s",
            l.where, l.at_org ? " (organisational domain)" : "",
            l.at_org && l.rec.sp != DMARC_POLICY_UNSPEC ? "sp" : "p", dmarc_policy_name(l.policy),
            l.adkim == DMARC_ALIGN_STRICT ? "s" : "r", l.aspf == DMARC_ALIGN_STRICT ? "s" : "r",
            l.rec.rua[0] ? " rua=" : "; no rua=: you get no aggregate reports", l.rec.rua,
            l.policy == DMARC_POLICY_NONE ? "; p=none: monitoring only" : "");
        doctor_dmarc_ses(r, &l);
    }
    if (doctor_dmarc_rfc9989_differs(ctx, r->domain, &l, text, sizeof(text)))
        doctor_report_add(r, "dmarc-rfc9989", DOCTOR_WARN, "RFC 9989 and RFC 7489 differ: %s",
                          text);
}
