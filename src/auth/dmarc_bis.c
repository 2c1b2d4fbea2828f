/*
 * dmarc_bis.c - DMARC policy discovery by RFC 9989, and its comparison with RFC 7489
 *
 * Purpose: receivers are moving from RFC 7489 (the Public Suffix List) to
 * RFC 9989 (the DNS tree walk, domain_walk.c), and for some domains the
 * two find a different record, policy or Organizational Domain.
 * dmarc_bis_discover() predicts what an RFC 9989 receiver applies (section
 * 4.10.1): the record at _dmarc.<Author Domain> with its p=; else the
 * record of the walk's Organizational Domain, else that of the public
 * suffix domain that said psd=y, with sp= for an Author Domain that exists
 * and np= (then sp=, then p=) for one that does not.  pct, rf and ri are
 * gone; t=y asks receivers for the next lower policy.  Several records at
 * one name are discarded and the walk goes on (RFC 7489 stops there).
 * dmarc_bis_compare() runs both discoveries for one domain and says, in
 * one sentence, how they differ: the call behind "ses-milter doctor"'s
 * DMARC line and the alignment advice.
 *
 * "Does not exist" is RFC 9989's definition (section 3.2): NXDOMAIN or
 * NODATA for A, AAAA and MX (dns_lookup_has(), cached), asked only when an
 * inherited record has np=.
 *
 * Diagnostics: none; the lookup's detail says why.
 */
#include "config.h"

#include <arpa/nameser.h>
#include <stdio.h>
#include <string.h>

#include "auth/dmarc.h"
#include "lib/domain_walk.h"
#include "lib/util.h"

/*
 * dmarc_bis_exists - RFC 9989 section 3.2: a domain does not exist when A, AAAA
 * and MX all answer NXDOMAIN or NODATA; 1 exists, 0 does not, -1 temporary failure
 */
static int
dmarc_bis_exists(dns_cache *c, const char *name, uint64_t deadline_ms)
{
    static const int types[] = {ns_t_a, ns_t_aaaa, ns_t_mx};
    char err[256];
    int temp = 0;

    for (size_t i = 0; i < SM_ARRAY_LEN(types); i++) {
        dns_status st = dns_lookup_has(c, name, types[i], deadline_ms, err, sizeof(err));
        if (st == DNS_OK)
            return 1;
        if (st == DNS_NXDOMAIN)
            return temp ? -1 : 0; /* no records of any type */
        temp |= st == DNS_TEMPFAIL;
    }
    return temp ? -1 : 0;
}

/* dmarc_bis_apply - parse the chosen step's record and set the policy; returns the status */
static dmarc_disc_status
dmarc_bis_apply(dns_cache *c, const domain_walk_step *s, uint64_t deadline_ms, dmarc_lookup *out)
{
    char err[256];
    dmarc_record *r = &out->rec;

    snprintf(out->where, sizeof(out->where), "_dmarc.%s", s->name);
    out->at_org = strcmp(s->name, out->from_domain) != 0;
    out->parse_status =
        dmarc_record_parse_method(s->record, s->len, DMARC_RFC9989, r, err, sizeof(err));
    if (out->parse_status != DMARC_PARSE_OK) {
        util_errf(out->detail, sizeof(out->detail), "invalid DMARC record at %s: %s", out->where,
                  err);
        return out->status = DMARC_DISC_INVALID;
    }
    out->policy = r->p;
    if (out->at_org && r->np != DMARC_POLICY_UNSPEC) {
        int e = dmarc_bis_exists(c, out->from_domain, deadline_ms);
        if (e < 0) {
            util_errf(out->detail, sizeof(out->detail),
                      "temporary DNS failure looking up whether %s exists (np= at %s)",
                      out->from_domain, out->where);
            return out->status = DMARC_DISC_TEMPFAIL;
        }
        out->nonexistent = e == 0;
    }
    if (out->at_org && out->nonexistent && r->np != DMARC_POLICY_UNSPEC)
        out->policy = r->np;
    else if (out->at_org && r->sp != DMARC_POLICY_UNSPEC)
        out->policy = r->sp;
    out->adkim = r->adkim;
    out->aspf = r->aspf;
    out->pct = r->t ? 0 : 100;
    return out->status = DMARC_DISC_FOUND;
}

dmarc_disc_status
dmarc_bis_discover(dns_cache *c, const char *from_domain, uint64_t deadline_ms, dmarc_lookup *out)
{
    domain_walk w;
    const domain_walk_step *pick = NULL;

    memset(out, 0, sizeof(*out));
    out->method = DMARC_RFC9989;
    out->pct = 100;
    domain_walk_run(c, from_domain, deadline_ms, dmarc_walk_reader, &w);
    out->queries = (int)w.nsteps;
    if (w.status == DOMAIN_WALK_BAD_NAME) {
        util_errf(out->detail, sizeof(out->detail), "not a domain name");
        return out->status = DMARC_DISC_BAD_DOMAIN;
    }
    util_strlcpy(out->from_domain, w.start, sizeof(out->from_domain));
    util_strlcpy(out->org_domain, w.status == DOMAIN_WALK_OK ? w.org : w.start,
                 sizeof(out->org_domain));
    if (w.nsteps > 0 && w.step[0].record != NULL) /* 4.10.1: the Author Domain's own record */
        pick = &w.step[0];
    else if (w.status != DOMAIN_WALK_OK) {
        snprintf(out->where, sizeof(out->where), "_dmarc.%s", w.step[w.nsteps - 1].name);
        util_strlcpy(out->detail, w.detail, sizeof(out->detail));
        domain_walk_clear(&w);
        return out->status = DMARC_DISC_TEMPFAIL;
    } else if (w.org_step >= 0)
        pick = &w.step[w.org_step];
    else if (w.psd_step >= 0) {
        pick = &w.step[w.psd_step];
        out->at_psd = 1;
    }
    if (pick == NULL) {
        snprintf(out->where, sizeof(out->where), "_dmarc.%s", out->from_domain);
        util_errf(out->detail, sizeof(out->detail),
                  "no DMARC record at _dmarc.%s or above it (RFC 9989 tree walk, %zu quer%s)",
                  out->from_domain, w.nsteps, w.nsteps == 1 ? "y" : "ies");
        domain_walk_clear(&w);
        return out->status = DMARC_DISC_NONE;
    }
    dmarc_bis_apply(c, pick, deadline_ms, out);
    domain_walk_clear(&w);
    return out->status;
}

/* dmarc_bis_verdict - "p=reject at _dmarc.example.com" or the status, for the sentence */
static void
dmarc_bis_say(const dmarc_lookup *l, char *buf, size_t len)
{
    if (l->status == DMARC_DISC_FOUND) {
        char disp[200];
        dmarc_disposition(l, NULL, NULL, disp, sizeof(disp));
        util_errf(buf, len, "%s from %s (organisational domain %s)", disp, l->where, l->org_domain);
    } else {
        util_errf(buf, len, "%s (%s)", dmarc_disc_status_name(l->status), l->detail);
    }
}

int
dmarc_bis_differ(const dmarc_lookup *a, const dmarc_lookup *b, char *text, size_t len)
{
    char sa[400], sb[400];
    dmarc_policy sa_strict = 0, sa_rest = 0, sb_strict = 0, sb_rest = 0;
    int differ;

    if (a->status == DMARC_DISC_FOUND)
        dmarc_disposition(a, &sa_strict, &sa_rest, NULL, 0);
    if (b->status == DMARC_DISC_FOUND)
        dmarc_disposition(b, &sb_strict, &sb_rest, NULL, 0);
    differ = a->status != b->status || strcmp(a->org_domain, b->org_domain) != 0 ||
             (a->status == DMARC_DISC_FOUND &&
              (strcmp(a->where, b->where) != 0 || sa_strict != sb_strict || sa_rest != sb_rest ||
               a->adkim != b->adkim || a->aspf != b->aspf));
    if (text == NULL || len == 0)
        return differ;
    text[0] = '\0';
    if (!differ)
        return 0;
    dmarc_bis_say(a, sa, sizeof(sa));
    dmarc_bis_say(b, sb, sizeof(sb));
    util_errf(text, len, "%s: %s finds %s, %s finds %s", a->from_domain,
              a->method == DMARC_RFC9989 ? "RFC 9989" : "RFC 7489", sa,
              b->method == DMARC_RFC9989 ? "RFC 9989" : "RFC 7489", sb);
    return 1;
}

int
dmarc_bis_compare(dns_cache *c, const char *from_domain, uint64_t deadline_ms, dmarc_compare *out)
{
    memset(out, 0, sizeof(*out));
    dmarc_discover(c, from_domain, deadline_ms, &out->rfc7489);
    dmarc_bis_discover(c, from_domain, deadline_ms, &out->rfc9989);
    out->differ = dmarc_bis_differ(&out->rfc7489, &out->rfc9989, out->text, sizeof(out->text));
    return out->differ;
}
