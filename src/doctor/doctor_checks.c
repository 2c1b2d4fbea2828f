/*
 * doctor_checks.c - the doctor's SES checks: verification, DKIM, custom MAIL FROM
 *
 * Purpose: turn the identity's state at the source (doctor_ses.c) and the
 * DNS records SES needs into one line each:
 *   verification      VerificationStatus, VerificationInfo.ErrorType in words
 *   verification-txt  the legacy _amazonses TXT (only when one is published,
 *                     at its name or where a mistake put it)
 *   dkim              DkimAttributes.Status and SigningEnabled
 *   dkim-cname-N      Easy DKIM: TOKEN._domainkey.D CNAME TOKEN.dkim.amazonses.com
 *   dkim-key          BYODKIM: the key record at SELECTOR._domainkey.D parses
 *                     (and matches --dkim-key FILE)
 *   mail-from         MailFromDomainStatus with BehaviorOnMxFailure
 *   mail-from-mx      exactly one MX: feedback-smtp.REGION.amazonses.com
 *   mail-from-spf     one SPF record with include:amazonses.com
 * A missing record is looked for where the classic mistakes put it
 * (doctor_probe.c); the fix names the record to remove and the one to publish.
 */
#include "config.h"

#include <arpa/nameser.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "auth/sdkim_int.h"
#include "doctor/doctor.h"
#include "auth/spf_syntax.h"

/* doctor_error_type_text - what to do about VerificationInfo.ErrorType */
static const char *
doctor_error_type_text(const char *et)
{
    static const struct {
        const char *type, *text;
    } t[] = {
        {"DNS_SERVER_ERROR", "SES could not reach the domain's name servers (DNS_SERVER_ERROR): "
                             "make sure every NS of the domain answers, then SES checks again"},
        {"HOST_NOT_FOUND", "SES found no record at the name (HOST_NOT_FOUND): publish the "
                           "records below exactly at the names shown"},
        {"TYPE_NOT_FOUND", "SES found the name but not the record type it needs "
                           "(TYPE_NOT_FOUND): publish a CNAME (not TXT or A) for DKIM"},
        {"INVALID_VALUE", "the record's value is not what SES expects (INVALID_VALUE): copy "
                          "the value below exactly, without quotes or the domain appended"},
        {"SERVICE_ERROR", "a temporary SES service error (SERVICE_ERROR): nothing to fix, SES "
                          "checks again"},
        {"REPLICATION_ACCESS_DENIED", "SES may not read the primary region's identity "
                                      "(REPLICATION_ACCESS_DENIED): grant the replica region "
                                      "access"},
        {"REPLICATION_PRIMARY_NOT_FOUND", "the primary identity of this replica does not exist "
                                          "(REPLICATION_PRIMARY_NOT_FOUND)"},
        {"REPLICATION_PRIMARY_BYO_DKIM_NOT_SUPPORTED",
         "a BYODKIM identity cannot be replicated (REPLICATION_PRIMARY_BYO_DKIM_NOT_SUPPORTED)"},
        {"REPLICATION_REPLICA_AS_PRIMARY_NOT_SUPPORTED",
         "a replica cannot be a primary (REPLICATION_REPLICA_AS_PRIMARY_NOT_SUPPORTED)"},
        {"REPLICATION_PRIMARY_INVALID_REGION", "the primary region is not valid for "
                                               "replication (REPLICATION_PRIMARY_INVALID_REGION)"},
    };

    for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
        if (strcmp(et, t[i].type) == 0)
            return t[i].text;
    return NULL;
}

/* doctor_verification_state - the verification line from a described identity */
static void
doctor_verification_state(doctor_report *r, const doctor_ses *s)
{
    const sm_id_description *d = &s->d;
    const char *vs = d->verification_status, *et = doctor_error_type_text(d->error_type);
    char why[400] = "";

    if (d->error_type[0])
        snprintf(why, sizeof(why), "; %s", et != NULL ? et : d->error_type);
    if (strcmp(vs, "SUCCESS") == 0 && d->verified_for_sending != 0)
        doctor_report_add(r, "verification", DOCTOR_PASS,
                          "%s is verified for sending in %s (VerificationStatus SUCCESS)",
                          s->identity, d->attrs.region[0] ? d->attrs.region : "its region");
    else if (strcmp(vs, "SUCCESS") == 0)
        doctor_report_add(r, "verification", DOCTOR_FAIL,
                          "%s is verified but may not send (VerifiedForSendingStatus false): "
                          "sending is paused for the identity or the account",
                          s->identity);
    else if (strcmp(vs, "PENDING") == 0)
        doctor_report_add(r, "verification", DOCTOR_WARN,
                          "%s: verification PENDING: SES has not found the records yet (it "
                          "keeps looking for 72 hours)%s",
                          s->identity, why);
    else if (strcmp(vs, "TEMPORARY_FAILURE") == 0)
        doctor_report_add(r, "verification", DOCTOR_WARN,
                          "%s: verification TEMPORARY_FAILURE: SES could not check the records "
                          "and will try again%s",
                          s->identity, why);
    else if (strcmp(vs, "FAILED") == 0)
        doctor_report_add(r, "verification", DOCTOR_FAIL,
                          "%s: verification FAILED%s; SES stopped looking: fix the records, "
                          "then restart verification",
                          s->identity, why[0] ? why : ": SES did not find the records");
    else if (strcmp(vs, "NOT_STARTED") == 0)
        doctor_report_add(r, "verification", DOCTOR_FAIL,
                          "%s: verification NOT_STARTED: publish the records below, SES then "
                          "starts",
                          s->identity);
    else
        doctor_report_add(r, "verification",
                          s->answer == SM_ID_VERIFIED ? DOCTOR_PASS : DOCTOR_FAIL,
                          "%s: %s by source %s (%s)", s->identity,
                          s->answer == SM_ID_VERIFIED ? "verified" : "not verified", s->source,
                          d->attrs.detail[0] ? d->attrs.detail : s->plugin);
}

/* doctor_check_verification - the identity's verification and the legacy TXT */
static void
doctor_check_verification(doctor_ctx *ctx, doctor_report *r)
{
    const doctor_ses *s = &r->ses;
    doctor_answer a;
    doctor_variant v;
    char name[300];

    if (s->identity[0] == '\0' && s->error[0])
        doctor_report_add(r, "verification", DOCTOR_ERROR, "could not ask: %s", s->error);
    else if (!s->asked)
        doctor_report_add(r, "verification", DOCTOR_WARN,
                          "no identity source is configured: the SES state is unknown");
    else if (s->identity[0] == '\0')
        doctor_report_add(r, "verification", DOCTOR_FAIL,
                          "no source knows %s or its parent domains: create the identity in SES "
                          "(aws sesv2 create-email-identity --email-identity %s)",
                          r->target, r->domain);
    else if (s->describe)
        doctor_verification_state(r, s);
    else
        doctor_report_add(
            r, "verification", s->answer == SM_ID_VERIFIED ? DOCTOR_PASS : DOCTOR_FAIL,
            "%s is %s by source %s (%s)", s->identity,
            s->answer == SM_ID_VERIFIED ? "listed as verified" : "listed as not verified",
            s->source, s->plugin);
    snprintf(name, sizeof(name), "_amazonses.%s", r->domain);
    if (doctor_dns_ask(ctx, name, ns_t_txt, &a) == DNS_OK) {
        int quoted = memchr(a.rr[0].txt, '"', a.rr[0].txtlen) != NULL;
        doctor_check *c = doctor_report_add(
            r, "verification-txt", quoted ? DOCTOR_FAIL : DOCTOR_PASS,
            quoted ? "legacy TXT at %s is quoted wrongly: the quotes are part of the value"
                   : "legacy TXT at %s present (%zu value(s))",
            name, a.n);
        if (quoted)
            doctor_check_fix(c, "%s. TXT \"%.*s\"", name,
                             (int)strcspn(a.rr[0].txt + (a.rr[0].txt[0] == '"'), "\""),
                             a.rr[0].txt + (a.rr[0].txt[0] == '"'));
    } else if (a.status != DNS_TEMPFAIL &&
               doctor_probe_find(ctx, "_amazonses", r->domain, NULL, ns_t_txt, NULL, NULL, &v)) {
        doctor_check *c =
            doctor_report_add(r, "verification-txt", DOCTOR_FAIL,
                              "%s: no legacy TXT; found at %s: %s", name, v.name, v.why);
        doctor_check_fix(c, "remove: %s. TXT", v.name);
        doctor_check_fix(c, "%s. TXT (the same value)", name);
    }
    doctor_answer_clear(&a);
}

/* doctor_want_cname - a probe hit: a CNAME to the token's host */
static int
doctor_want_cname(const doctor_rr *rr, const void *arg)
{
    return strncasecmp(rr->target, arg, strlen(arg)) == 0;
}

/* doctor_check_cname - one Easy DKIM token */
static void
doctor_check_cname(doctor_ctx *ctx, doctor_report *r, const char *dom, const char *token, size_t i)
{
    char id[32], name[300], prefix[200], want[300];
    doctor_answer a, t;
    doctor_variant v;
    doctor_check *c;
    dns_status st;

    snprintf(id, sizeof(id), "dkim-cname-%zu", i + 1);
    snprintf(prefix, sizeof(prefix), "%s._domainkey", token);
    snprintf(name, sizeof(name), "%s.%s", prefix, dom);
    snprintf(want, sizeof(want), "%s.dkim.amazonses.com", token);
    st = doctor_dns_ask(ctx, name, ns_t_cname, &a);
    if (st == DNS_TEMPFAIL) {
        doctor_report_add(r, id, DOCTOR_ERROR, "%s: the resolver did not answer", name);
    } else if (st == DNS_OK) {
        int how = doctor_probe_value(a.rr[0].target, want, dom);
        doctor_answer o;
        int beside = doctor_dns_ask(ctx, name, ns_t_txt, &o) != DNS_TEMPFAIL && o.beside_cname;

        doctor_answer_clear(&o);
        if (beside) {
            c = doctor_report_add(r, id, DOCTOR_FAIL,
                                  "%s: a CNAME beside other records at the same name (resolvers "
                                  "may answer either): keep the CNAME alone",
                                  name);
            doctor_check_fix(c, "remove: the other records at %s.", name);
            doctor_check_fix(c, "%s. CNAME %s.", name, want);
        } else if (how == DOCTOR_VALUE_SAME) {
            doctor_report_add(r, id, DOCTOR_PASS, "%s CNAME %s", name, want);
        } else {
            c = doctor_report_add(
                r, id, how == DOCTOR_VALUE_CASE ? DOCTOR_WARN : DOCTOR_FAIL, "%s CNAME %s: %s",
                name, a.rr[0].target,
                how == DOCTOR_VALUE_CASE       ? "the value's case was changed by the DNS provider"
                : how == DOCTOR_VALUE_APPENDED ? "the DNS provider appended the domain to the value"
                                               : "points elsewhere than SES's DKIM host");
            doctor_check_fix(c, "%s. CNAME %s.", name, want);
        }
    } else if (doctor_dns_ask(ctx, name, ns_t_txt, &t) == DNS_OK) {
        c = doctor_report_add(r, id, DOCTOR_FAIL,
                              "%s: a TXT record instead of a CNAME (SES: TYPE_NOT_FOUND)", name);
        doctor_check_fix(c, "remove: %s. TXT", name);
        doctor_check_fix(c, "%s. CNAME %s.", name, want);
    } else if (doctor_probe_find(ctx, prefix, dom, r->domain, ns_t_cname, doctor_want_cname, want,
                                 &v)) {
        c = doctor_report_add(r, id, DOCTOR_FAIL, "%s: no CNAME; found at %s: %s", name, v.name,
                              v.why);
        doctor_check_fix(c, "remove: %s. CNAME", v.name);
        doctor_check_fix(c, "%s. CNAME %s.", name, want);
    } else {
        c = doctor_report_add(r, id, DOCTOR_FAIL, "%s: no CNAME", name);
        doctor_check_fix(c, "%s. CNAME %s.", name, want);
    }
    if (st != DNS_OK && st != DNS_TEMPFAIL)
        doctor_answer_clear(&t);
    doctor_answer_clear(&a);
}

/* doctor_key_der - the public key (DER) of a PEM private or public key file; NULL */
static unsigned char *
doctor_key_der(const char *file, int *len_r)
{
    FILE *fp = fopen(file, "r");
    EVP_PKEY *pk;
    unsigned char *der = NULL;

    *len_r = 0;
    if (fp == NULL)
        return NULL;
    pk = PEM_read_PrivateKey(fp, NULL, NULL, NULL);
    if (pk == NULL) {
        rewind(fp);
        pk = PEM_read_PUBKEY(fp, NULL, NULL, NULL);
    }
    fclose(fp);
    if (pk != NULL)
        *len_r = i2d_PUBKEY(pk, &der);
    EVP_PKEY_free(pk);
    return *len_r > 0 ? der : NULL;
}

/* doctor_key_p - the p= value of a key record into buf; -1 when there is none */
static int
doctor_key_p(const char *txt, char *buf, size_t len)
{
    const char *p = txt;

    while ((p = strstr(p, "p=")) != NULL && p > txt && p[-1] != ';' && p[-1] != ' ')
        p += 2;
    if (p == NULL)
        return -1;
    p += 2;
    snprintf(buf, len, "%.*s", (int)strcspn(p, ";"), p);
    return 0;
}

/* doctor_check_byodkim - the BYODKIM key record parses, and matches --dkim-key */
static void
doctor_check_byodkim(doctor_ctx *ctx, doctor_report *r, const char *dom, const char *sel)
{
    char name[300], err[256] = "", p[8192], *want_b64 = NULL;
    unsigned char *der = NULL, *got = NULL;
    int derlen = 0, ok;
    size_t gotlen = 0;
    doctor_answer a;
    doctor_check *c;

    snprintf(name, sizeof(name), "%s._domainkey.%s", sel, dom);
    if (ctx->dkim_key != NULL && (der = doctor_key_der(ctx->dkim_key, &derlen)) != NULL) {
        want_b64 = xmalloc((size_t)derlen * 2 + 4);
        EVP_EncodeBlock((unsigned char *)want_b64, der, derlen);
    }
    ok = sdkim_key_published(ctx->dkim, sel, dom, ctx->deadline_ms, err, sizeof(err));
    doctor_dns_ask(ctx, name, ns_t_txt, &a);
    if (ok < 0) {
        doctor_report_add(r, "dkim-key", DOCTOR_ERROR, "%s: %s", name, err);
    } else if (ok == 0) {
        const char *why = err;
        if (a.n > 1)
            why = "split into several TXT records: publish one record (a long value as "
                  "several strings of one record)";
        else if (a.n == 1 && memchr(a.rr[0].txt, '"', a.rr[0].txtlen) != NULL)
            why = "quoted wrongly: the quotes are part of the value";
        else if (a.n == 1 && want_b64 != NULL && doctor_key_p(a.rr[0].txt, p, sizeof(p)) == 0 &&
                 strcasecmp(p, want_b64) == 0)
            why = "the value's case was changed by the DNS provider";
        c = doctor_report_add(r, "dkim-key", DOCTOR_FAIL, "%s: BYODKIM key record: %s", name, why);
        if (want_b64 != NULL)
            doctor_check_fix(c, "%s. TXT \"v=DKIM1; k=rsa; p=%s\"", name, want_b64);
    } else if (want_b64 == NULL) {
        doctor_report_add(r, "dkim-key", ctx->dkim_key ? DOCTOR_ERROR : DOCTOR_PASS,
                          "%s: BYODKIM key record parses%s", name,
                          ctx->dkim_key ? " (--dkim-key: cannot read the key)"
                                        : " (--dkim-key FILE compares it with your key)");
    } else {
        int same = 0;
        for (size_t i = 0; i < a.n && !same; i++)
            if (doctor_key_p(a.rr[i].txt, p, sizeof(p)) == 0 &&
                (got = sdkim_key_b64_decode(p, strlen(p), &gotlen)) != NULL) {
                same = gotlen == (size_t)derlen && memcmp(got, der, gotlen) == 0;
                free(got);
            }
        c = doctor_report_add(
            r, "dkim-key", same ? DOCTOR_PASS : DOCTOR_FAIL, "%s: BYODKIM key record %s", name,
            same ? "parses and matches --dkim-key" : "parses but is not the key of --dkim-key");
        if (!same)
            doctor_check_fix(c, "%s. TXT \"v=DKIM1; k=rsa; p=%s\"", name, want_b64);
    }
    doctor_answer_clear(&a);
    OPENSSL_free(der);
    free(want_b64);
}

/* doctor_check_dkim - DkimAttributes and the DKIM records */
static void
doctor_check_dkim(doctor_ctx *ctx, doctor_report *r)
{
    const doctor_ses *s = &r->ses;
    const sm_id_description *d = &s->dom;
    const char *st = d->attrs.dkim_status, *dom = s->domain_identity;
    int byo = strcmp(d->attrs.dkim_origin, "EXTERNAL") == 0;

    if (!s->have_domain) {
        if (s->identity[0])
            doctor_report_add(r, "dkim", DOCTOR_FAIL,
                              "only the address %s is verified: SES signs with d=amazonses.com "
                              "and DMARC fails for %s: verify the domain and enable Easy DKIM",
                              s->identity, r->domain);
        return;
    }
    if (!s->describe)
        return; /* a list source knows nothing of DKIM */
    if (strcmp(st, "SUCCESS") == 0 && d->attrs.dkim_signing_enabled == 0)
        doctor_report_add(r, "dkim", DOCTOR_WARN,
                          "DKIM SUCCESS but signing is disabled: SES signs with d=amazonses.com");
    else if (strcmp(st, "SUCCESS") == 0)
        doctor_report_add(r, "dkim", DOCTOR_PASS, "%s SUCCESS, signing d=%s%s%s",
                          byo ? "BYODKIM" : "Easy DKIM", dom, d->dkim_key_length[0] ? ", " : "",
                          d->dkim_key_length);
    else if (strcmp(st, "PENDING") == 0 || strcmp(st, "TEMPORARY_FAILURE") == 0)
        doctor_report_add(r, "dkim", DOCTOR_WARN,
                          "DKIM %s: SES has not found the records below yet; until then it "
                          "signs with d=amazonses.com",
                          st);
    else if (strcmp(st, "FAILED") == 0)
        doctor_report_add(r, "dkim", DOCTOR_FAIL,
                          "DKIM FAILED: SES did not find the records below within 72 hours; fix "
                          "them, then restart DKIM verification");
    else
        doctor_report_add(r, "dkim", DOCTOR_FAIL,
                          "DKIM %s: enable Easy DKIM for %s (mail is signed d=amazonses.com)",
                          st[0] ? st : "not set up", dom);
    if (byo && d->n_dkim_tokens > 0)
        doctor_check_byodkim(ctx, r, dom, d->dkim_tokens[0]);
    else
        for (size_t i = 0; i < d->n_dkim_tokens; i++)
            doctor_check_cname(ctx, r, dom, d->dkim_tokens[i], i);
}

/* doctor_want_feedback - a probe hit: an MX to SES's feedback host */
static int
doctor_want_feedback(const doctor_rr *rr, const void *arg)
{
    (void)arg;
    return strncasecmp(rr->target, "feedback-smtp.", 14) == 0;
}

/* doctor_check_mf_mx - exactly one MX at the MAIL FROM domain, to the region's feedback host */
static void
doctor_check_mf_mx(doctor_ctx *ctx, doctor_report *r, const char *mf, const char *region)
{
    char want[128], parent[300];
    doctor_answer a;
    doctor_variant v;
    doctor_check *c;
    const char *dot = strchr(mf, '.');
    dns_status st;

    snprintf(want, sizeof(want), "feedback-smtp.%s.amazonses.com", region[0] ? region : "REGION");
    util_strlcpy(parent, dot != NULL ? dot + 1 : mf, sizeof(parent));
    st = doctor_dns_ask(ctx, mf, ns_t_mx, &a);
    if (st == DNS_TEMPFAIL) {
        doctor_report_add(r, "mail-from-mx", DOCTOR_ERROR, "%s: the resolver did not answer", mf);
    } else if (a.cname[0] || a.beside_cname) {
        c = doctor_report_add(r, "mail-from-mx", DOCTOR_FAIL,
                              "%s is a CNAME (to %s): the MX and TXT SES needs cannot sit beside "
                              "a CNAME",
                              mf, a.cname[0] ? a.cname : "?");
        doctor_check_fix(c, "remove: %s. CNAME", mf);
        doctor_check_fix(c, "%s. MX 10 %s.", mf, want);
    } else if (st == DNS_OK && a.n == 1 && doctor_probe_value(a.rr[0].target, want, "") <= 1) {
        doctor_report_add(r, "mail-from-mx", DOCTOR_PASS, "%s MX %u %s", mf, a.rr[0].pref, want);
    } else if (st == DNS_OK) {
        if (a.n > 1)
            c = doctor_report_add(r, "mail-from-mx", DOCTOR_FAIL,
                                  "%s has %zu MX records: SES needs exactly one", mf, a.n);
        else
            c = doctor_report_add(r, "mail-from-mx", DOCTOR_FAIL,
                                  "%s MX points at %s, not at the feedback host of %s", mf,
                                  a.rr[0].target, region[0] ? region : "the identity's region");
        doctor_check_fix(c, "%s. MX 10 %s.", mf, want);
    } else {
        doctor_answer p;
        int at_parent = doctor_dns_ask(ctx, parent, ns_t_mx, &p) == DNS_OK &&
                        doctor_want_feedback(&p.rr[0], NULL);
        doctor_answer_clear(&p);
        if (at_parent) {
            snprintf(v.name, sizeof(v.name), "%s", parent);
            snprintf(v.why, sizeof(v.why), "published at the parent domain %s instead of %s",
                     parent, mf);
        }
        if (at_parent ||
            doctor_probe_find(ctx, mf, parent, NULL, ns_t_mx, doctor_want_feedback, NULL, &v)) {
            c = doctor_report_add(r, "mail-from-mx", DOCTOR_FAIL, "%s: no MX; found at %s: %s", mf,
                                  v.name, v.why);
            doctor_check_fix(c, "remove: %s. MX %s.", v.name, want);
        } else {
            c = doctor_report_add(r, "mail-from-mx", DOCTOR_FAIL, "%s: no MX", mf);
        }
        doctor_check_fix(c, "%s. MX 10 %s.", mf, want);
    }
    doctor_answer_clear(&a);
}

/* doctor_spf_includes_ses - 1 when an SPF record's text includes amazonses.com */
static int
doctor_spf_includes_ses(const char *txt, size_t len)
{
    char err[128];
    spf_syntax_rec *rec = spf_syntax_parse(txt, len, err, sizeof(err));
    int found = 0;

    for (size_t i = 0; rec != NULL && i < rec->n; i++)
        found |= rec->t[i].kind == SPF_TERM_INCLUDE && rec->t[i].arg != NULL &&
                 strcasecmp(rec->t[i].arg, "amazonses.com") == 0;
    spf_syntax_free(rec);
    return found;
}

/* doctor_spf_terms - the number of terms of a record that parses, else 0 */
static size_t
doctor_spf_terms(const char *txt)
{
    char err[128];
    spf_syntax_rec *rec = spf_syntax_parse(txt, strlen(txt), err, sizeof(err));
    size_t n = rec != NULL ? rec->n : 0;

    spf_syntax_free(rec);
    return n;
}

/* doctor_check_mf_spf - one SPF record at the MAIL FROM domain with include:amazonses.com */
static void
doctor_check_mf_spf(doctor_ctx *ctx, doctor_report *r, const char *mf)
{
    doctor_answer a;
    doctor_check *c = NULL;
    size_t nspf = 0, k = 0;
    dns_status st = doctor_dns_ask(ctx, mf, ns_t_txt, &a);

    for (size_t i = 0; i < a.n; i++)
        if (spf_syntax_is_spf1(a.rr[i].txt, a.rr[i].txtlen) ||
            strncasecmp(a.rr[i].txt, "\"v=spf1", 7) == 0) {
            nspf++;
            k = i;
        }
    if (st == DNS_TEMPFAIL)
        doctor_report_add(r, "mail-from-spf", DOCTOR_ERROR, "%s: the resolver did not answer", mf);
    else if (nspf == 0)
        c = doctor_report_add(r, "mail-from-spf", DOCTOR_FAIL, "%s: no SPF record", mf);
    else if (nspf > 1)
        c = doctor_report_add(r, "mail-from-spf", DOCTOR_FAIL,
                              "%s: %zu SPF records: receivers answer permerror; keep one", mf,
                              nspf);
    else if (a.rr[k].txt[0] == '"')
        c = doctor_report_add(r, "mail-from-spf", DOCTOR_FAIL,
                              "%s: SPF record quoted wrongly: the quotes are part of the value",
                              mf);
    else if (doctor_spf_includes_ses(a.rr[k].txt, a.rr[k].txtlen) &&
             doctor_spf_terms(a.rr[k].txt) >= doctor_spf_terms(a.rr[k].spaced))
        doctor_report_add(r, "mail-from-spf", DOCTOR_PASS, "%s TXT \"%s\"", mf, a.rr[k].txt);
    else if (a.rr[k].nstrings > 1 &&
             doctor_spf_includes_ses(a.rr[k].spaced, strlen(a.rr[k].spaced)))
        c = doctor_report_add(r, "mail-from-spf", DOCTOR_FAIL,
                              "%s: SPF record split wrongly: its strings are joined without a "
                              "space (\"%s\")",
                              mf, a.rr[k].txt);
    else
        c = doctor_report_add(r, "mail-from-spf", DOCTOR_FAIL,
                              "%s: the SPF record lacks include:amazonses.com", mf);
    if (c != NULL)
        doctor_check_fix(c, "%s. TXT \"v=spf1 include:amazonses.com ~all\"", mf);
    doctor_answer_clear(&a);
}

/* doctor_check_mail_from - MailFromAttributes and the MAIL FROM domain's records */
static void
doctor_check_mail_from(doctor_ctx *ctx, doctor_report *r)
{
    const sm_id_attrs *at = &r->ses.dom.attrs;
    const char *st = at->mail_from_status, *b = at->mail_from_behavior;
    int reject = strcmp(b, "REJECT_MESSAGE") == 0;

    if (!r->ses.have_domain || !r->ses.describe)
        return;
    if (at->mail_from_domain[0] == '\0') {
        doctor_report_add(r, "mail-from", DOCTOR_WARN,
                          "no custom MAIL FROM: SPF is checked for amazonses.com and cannot "
                          "align with %s; DMARC rests on DKIM alone",
                          r->domain);
        return;
    }
    if (strcmp(st, "SUCCESS") == 0)
        doctor_report_add(r, "mail-from", DOCTOR_PASS,
                          "MAIL FROM %s: MailFromDomainStatus SUCCESS (BehaviorOnMxFailure %s)",
                          at->mail_from_domain, b[0] ? b : "USE_DEFAULT_VALUE");
    else if (reject)
        doctor_report_add(r, "mail-from", DOCTOR_FAIL,
                          "SES WILL REFUSE THE MAIL: MAIL FROM %s is %s and BehaviorOnMxFailure "
                          "is REJECT_MESSAGE (MailFromDomainNotVerified): fix the MX and SPF "
                          "below, or set USE_DEFAULT_VALUE",
                          at->mail_from_domain, st[0] ? st : "not verified");
    else
        doctor_report_add(r, "mail-from", strcmp(st, "FAILED") == 0 ? DOCTOR_FAIL : DOCTOR_WARN,
                          "MAIL FROM %s is %s: SES uses amazonses.com instead (SPF not aligned)",
                          at->mail_from_domain, st[0] ? st : "not verified");
    doctor_check_mf_mx(ctx, r, at->mail_from_domain, at->region);
    doctor_check_mf_spf(ctx, r, at->mail_from_domain);
}

void
doctor_checks_ses(doctor_ctx *ctx, doctor_report *r)
{
    doctor_check_verification(ctx, r);
    doctor_check_dkim(ctx, r);
    doctor_check_mail_from(ctx, r);
}
