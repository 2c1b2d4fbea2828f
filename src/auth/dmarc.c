/*
 * dmarc.c - strict DMARC record parser, policy discovery and identifier alignment
 *
 * Purpose: predict what a receiver following RFC 7489 will find when it
 * looks for the DMARC policy of a From domain, and whether identifiers
 * align.  The parser is strict where the policy is concerned (section 6.3
 * grammar: v=DMARC1 first; p, sp, adkim, aspf, pct, fo, rf, ri checked
 * against their ABNF; duplicates refused) and lenient only where the RFC
 * says so: unknown tags are ignored, and a record with a missing or
 * invalid p= (or invalid sp=) counts as p=none when it carries at least
 * one syntactically valid rua= URI (section 6.6.3 step 6).  Tag names and
 * keyword values compare case-insensitively (ABNF literals); the version
 * value "DMARC1" is case-sensitive (%x44.4d.41.52.43.31).
 *
 * Under RFC 9989 (dmarc_record_parse_method) pct, rf and ri are unknown
 * tags, and psd (y/n/u), np (as sp) and t (y/n) are read; under RFC 7489 the
 * latter three are unknown tags.  Policy discovery by RFC 9989 is in
 * dmarc_bis.c.
 *
 * Known difference from OpenDMARC: OpenDMARC reads only the first letter
 * of p=/sp= and so accepts "p=n"; RFC 7489 defines only none, quarantine
 * and reject, so this parser refuses "p=n" (DMARC_PARSE_BAD_VALUE).
 *
 * Diagnostics: none; parse errors name the offending tag in err.
 */
#include "config.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "auth/dmarc.h"
#include "lib/domain.h"
#include "lib/domain_psl.h"
#include "lib/util.h"

enum {
    T_V = 1 << 0,
    T_P = 1 << 1,
    T_SP = 1 << 2,
    T_ADKIM = 1 << 3,
    T_ASPF = 1 << 4,
    T_PCT = 1 << 5,
    T_RUA = 1 << 6,
    T_RUF = 1 << 7,
    T_FO = 1 << 8,
    T_RF = 1 << 9,
    T_RI = 1 << 10,
    T_NP = 1 << 11, /* RFC 9989 only */
    T_PSD = 1 << 12,
    T_T = 1 << 13,
};

#define T_ONLY_7489 (T_PCT | T_RF | T_RI)
#define T_ONLY_9989 (T_NP | T_PSD | T_T)

static const struct {
    const char *name;
    unsigned bit;
} dmarc_tags[] = {
    {"v", T_V},     {"p", T_P},     {"sp", T_SP},   {"adkim", T_ADKIM}, {"aspf", T_ASPF},
    {"pct", T_PCT}, {"rua", T_RUA}, {"ruf", T_RUF}, {"fo", T_FO},       {"rf", T_RF},
    {"ri", T_RI},   {"np", T_NP},   {"psd", T_PSD}, {"t", T_T},
};

const char *
dmarc_policy_name(dmarc_policy p)
{
    switch (p) {
    case DMARC_POLICY_UNSPEC:
        return "unspecified";
    case DMARC_POLICY_NONE:
        return "none";
    case DMARC_POLICY_QUARANTINE:
        return "quarantine";
    case DMARC_POLICY_REJECT:
        return "reject";
    }
    return "unknown";
}

/* dmarc_policy_lower - the next lower policy (RFC 7489 6.6.4): reject -> quarantine -> none */
dmarc_policy
dmarc_policy_lower(dmarc_policy p)
{
    return p == DMARC_POLICY_REJECT       ? DMARC_POLICY_QUARANTINE
           : p == DMARC_POLICY_QUARANTINE ? DMARC_POLICY_NONE
                                          : p;
}

/*
 * dmarc_disposition - what a receiver does with failing mail under d's
 * policy and pct (RFC 7489 6.6.4: a message outside pct gets the next lower
 * policy).  *strict_r: the policy for the pct% sampled, *rest_r: for the
 * others; pct=100 gives the policy twice, pct=0 the lower one twice.  text
 * says it in words: "p=reject", "quarantine (p=reject with pct=0: ...)",
 * "reject for 50% of messages, quarantine otherwise (p=reject; pct=50)".
 * Any out-parameter may be NULL.
 */
void
dmarc_disposition(const dmarc_lookup *d, dmarc_policy *strict_r, dmarc_policy *rest_r, char *text,
                  size_t len)
{
    const char *tag = d->nonexistent && d->rec.np != DMARC_POLICY_UNSPEC ? "np"
                      : d->at_org && d->rec.sp != DMARC_POLICY_UNSPEC    ? "sp"
                                                                         : "p";
    dmarc_policy lower = dmarc_policy_lower(d->policy);
    dmarc_policy strict = d->pct > 0 ? d->policy : lower;
    dmarc_policy rest = d->pct < 100 ? lower : d->policy;

    if (strict_r != NULL)
        *strict_r = strict;
    if (rest_r != NULL)
        *rest_r = rest;
    if (text == NULL || len == 0)
        return;
    if (strict == d->policy && rest == d->policy)
        snprintf(text, len, "%s=%s", tag, dmarc_policy_name(d->policy));
    else if (strict == rest && d->method == DMARC_RFC9989)
        snprintf(text, len, "%s (%s=%s with t=y: testing, the next lower policy, RFC 9989)",
                 dmarc_policy_name(rest), tag, dmarc_policy_name(d->policy));
    else if (strict == rest)
        snprintf(text, len, "%s (%s=%s with pct=0: the next lower policy, RFC 7489 6.6.4)",
                 dmarc_policy_name(rest), tag, dmarc_policy_name(d->policy));
    else
        snprintf(text, len, "%s for %d%% of messages, %s otherwise (%s=%s; pct=%d)",
                 dmarc_policy_name(strict), d->pct, dmarc_policy_name(rest), tag,
                 dmarc_policy_name(d->policy), d->pct);
}

const char *
dmarc_method_name(dmarc_method m)
{
    return m == DMARC_RFC9989 ? "rfc9989" : "rfc7489";
}

const char *
dmarc_parse_status_name(dmarc_parse_status s)
{
    switch (s) {
    case DMARC_PARSE_OK:
        return "ok";
    case DMARC_PARSE_EMPTY:
        return "empty";
    case DMARC_PARSE_BAD_VERSION:
        return "bad-version";
    case DMARC_PARSE_BAD_SYNTAX:
        return "bad-syntax";
    case DMARC_PARSE_BAD_VALUE:
        return "bad-value";
    case DMARC_PARSE_NO_P:
        return "no-p";
    }
    return "unknown";
}

const char *
dmarc_disc_status_name(dmarc_disc_status s)
{
    switch (s) {
    case DMARC_DISC_FOUND:
        return "found";
    case DMARC_DISC_NONE:
        return "none";
    case DMARC_DISC_MULTIPLE:
        return "multiple";
    case DMARC_DISC_INVALID:
        return "invalid";
    case DMARC_DISC_TEMPFAIL:
        return "tempfail";
    case DMARC_DISC_BAD_DOMAIN:
        return "bad-domain";
    }
    return "unknown";
}

static int
dmarc_wsp(int ch)
{
    return ch == ' ' || ch == '\t' || ch == '\r' || ch == '\n';
}

/* dmarc_trim - strip white space at both ends in place; returns the start */
static char *
dmarc_trim(char *s)
{
    char *e;

    while (dmarc_wsp((unsigned char)*s))
        s++;
    e = s + strlen(s);
    while (e > s && dmarc_wsp((unsigned char)e[-1]))
        *--e = '\0';
    return s;
}

int
dmarc_walk_reader(const char *txt, size_t len)
{
    dmarc_record r;

    if (!dmarc_is_dmarc_record(txt, len))
        return -1;
    if (dmarc_record_parse_method(txt, len, DMARC_RFC9989, &r, NULL, 0) != DMARC_PARSE_OK)
        return DMARC_PSD_U;
    return (int)r.psd;
}

int
dmarc_is_dmarc_record(const char *txt, size_t len)
{
    size_t i = 0;

    while (i < len && dmarc_wsp((unsigned char)txt[i]))
        i++;
    if (i >= len || (txt[i] != 'v' && txt[i] != 'V'))
        return 0;
    for (i++; i < len && dmarc_wsp((unsigned char)txt[i]); i++)
        ;
    if (i >= len || txt[i] != '=')
        return 0;
    for (i++; i < len && dmarc_wsp((unsigned char)txt[i]); i++)
        ;
    if (len - i < 6 || memcmp(txt + i, "DMARC1", 6) != 0)
        return 0;
    i += 6;
    return i == len || txt[i] == ';' || dmarc_wsp((unsigned char)txt[i]);
}

/* dmarc_policy_value - none/quarantine/reject, or UNSPEC when invalid */
static dmarc_policy
dmarc_policy_value(const char *v)
{
    if (strcasecmp(v, "none") == 0)
        return DMARC_POLICY_NONE;
    if (strcasecmp(v, "quarantine") == 0)
        return DMARC_POLICY_QUARANTINE;
    if (strcasecmp(v, "reject") == 0)
        return DMARC_POLICY_REJECT;
    return DMARC_POLICY_UNSPEC;
}

/* dmarc_mode_value - r/s into *m; -1 when invalid */
static int
dmarc_mode_value(const char *v, dmarc_align_mode *m)
{
    if (strcasecmp(v, "r") == 0)
        *m = DMARC_ALIGN_RELAXED;
    else if (strcasecmp(v, "s") == 0)
        *m = DMARC_ALIGN_STRICT;
    else
        return -1;
    return 0;
}

/* dmarc_digits - 1*max DIGIT into *out (saturating at UINT32_MAX); -1 when invalid */
static int
dmarc_digits(const char *v, size_t max, uint32_t *out)
{
    uint64_t n = 0;
    size_t i;

    for (i = 0; v[i]; i++) {
        if (!isdigit((unsigned char)v[i]) || i >= max)
            return -1;
        n = n * 10 + (uint64_t)(v[i] - '0');
        if (n > UINT32_MAX)
            n = UINT32_MAX;
    }
    if (i == 0)
        return -1;
    *out = (uint32_t)n;
    return 0;
}

/* dmarc_uri_ok - dmarc-uri: URI with a scheme, optional "!" 1*DIGIT [kmgt] size limit */
static int
dmarc_uri_ok(const char *u)
{
    const char *colon = strchr(u, ':'), *bang;

    if (colon == NULL || colon == u || !isalpha((unsigned char)u[0]) || colon[1] == '\0')
        return 0;
    for (const char *p = u; p < colon; p++)
        if (!isalnum((unsigned char)*p) && *p != '+' && *p != '-' && *p != '.')
            return 0;
    for (const char *p = colon + 1; *p; p++)
        if ((unsigned char)*p <= 0x20 || (unsigned char)*p >= 0x7f)
            return 0;
    bang = strrchr(colon, '!');
    if (bang != NULL) {
        const char *p = bang + 1;
        if (!isdigit((unsigned char)*p))
            return 0;
        while (isdigit((unsigned char)*p))
            p++;
        if (*p && strchr("kmgtKMGT", *p) != NULL)
            p++;
        if (*p != '\0')
            return 0;
    }
    return 1;
}

/* dmarc_uri_list - check a comma-separated URI list; count of valid URIs, -1 if one is bad */
static int
dmarc_uri_list(const char *v)
{
    char *copy = xstrdup(v), *save = NULL;
    int n = 0;

    for (char *t = strtok_r(copy, ",", &save); t != NULL; t = strtok_r(NULL, ",", &save)) {
        t = dmarc_trim(t);
        if (!dmarc_uri_ok(t)) {
            n = -1;
            break;
        }
        n++;
    }
    free(copy);
    return n;
}

/* dmarc_colon_list - fo= / rf= values: colon-separated words from allowed; -1 when invalid */
static int
dmarc_colon_list(const char *v, const char *const *allowed, unsigned *bits)
{
    char *copy = xstrdup(v), *save = NULL;
    int ok = *v != '\0';

    *bits = 0;
    for (char *t = strtok_r(copy, ":", &save); ok && t != NULL; t = strtok_r(NULL, ":", &save)) {
        int found = 0;
        t = dmarc_trim(t);
        for (int i = 0; allowed[i] != NULL; i++)
            if (strcasecmp(t, allowed[i]) == 0) {
                *bits |= 1u << i;
                found = 1;
            }
        ok = found;
    }
    free(copy);
    return ok ? 0 : -1;
}

/* dmarc_tag_value - store one known tag; returns DMARC_PARSE_OK or BAD_VALUE */
static dmarc_parse_status
dmarc_tag_value(unsigned tag, const char *v, dmarc_record *r, int *p_bad, int *sp_bad, int *rua_ok)
{
    static const char *const fo_words[] = {"0", "1", "d", "s", NULL};
    static const char *const rf_words[] = {"afrf", NULL};
    dmarc_align_mode m;
    unsigned bits;
    uint32_t n;
    int k;

    switch (tag) {
    case T_P:
        r->p = dmarc_policy_value(v);
        *p_bad = r->p == DMARC_POLICY_UNSPEC;
        return 0;
    case T_SP:
        r->sp = dmarc_policy_value(v);
        *sp_bad = r->sp == DMARC_POLICY_UNSPEC;
        return 0;
    case T_ADKIM:
    case T_ASPF:
        if (dmarc_mode_value(v, &m) < 0)
            break;
        *(tag == T_ADKIM ? &r->adkim : &r->aspf) = m;
        return 0;
    case T_PCT:
        if (dmarc_digits(v, 3, &n) < 0 || n > 100)
            break;
        r->pct = (int)n;
        return 0;
    case T_RUA:
    case T_RUF:
        if ((k = dmarc_uri_list(v)) < 0)
            break;
        if (tag == T_RUA)
            *rua_ok = k > 0;
        util_strlcpy(tag == T_RUA ? r->rua : r->ruf, v, sizeof(r->rua));
        return 0;
    case T_FO:
        if (dmarc_colon_list(v, fo_words, &bits) < 0)
            break;
        r->fo = bits;
        return 0;
    case T_RF:
        if (dmarc_colon_list(v, rf_words, &bits) < 0)
            break;
        return 0;
    case T_RI:
        if (dmarc_digits(v, 32, &n) < 0)
            break;
        r->ri = n;
        return 0;
    case T_NP:
        r->np = dmarc_policy_value(v);
        *sp_bad |= r->np == DMARC_POLICY_UNSPEC; /* RFC 9989 4.10.1: as an invalid sp= */
        return 0;
    case T_PSD:
        r->psd = strcasecmp(v, "y") == 0   ? DMARC_PSD_Y
                 : strcasecmp(v, "n") == 0 ? DMARC_PSD_N
                                           : DMARC_PSD_U;
        return 0;
    case T_T:
        r->t = strcasecmp(v, "y") == 0;
        return 0;
    }
    return DMARC_PARSE_BAD_VALUE;
}

/* dmarc_record_defaults - the values of absent tags */
static void
dmarc_record_defaults(dmarc_record *r)
{
    memset(r, 0, sizeof(*r));
    r->adkim = DMARC_ALIGN_RELAXED;
    r->aspf = DMARC_ALIGN_RELAXED;
    r->pct = 100;
    r->fo = DMARC_FO_0;
    r->ri = 86400;
}

/* dmarc_finish - apply section 6.6.3 step 6 to p=/sp= problems */
static dmarc_parse_status
dmarc_finish(dmarc_record *r, unsigned seen, int p_bad, int sp_bad, int rua_ok, char *err,
             size_t errlen)
{
    if (!(seen & T_P) || p_bad || sp_bad) {
        if (rua_ok) {
            r->p = DMARC_POLICY_NONE;
            r->sp = DMARC_POLICY_UNSPEC;
            r->np = DMARC_POLICY_UNSPEC;
            r->p_defaulted = 1;
            return DMARC_PARSE_OK;
        }
        if (!(seen & T_P)) {
            util_errf(err, errlen, "no p= tag");
            return DMARC_PARSE_NO_P;
        }
        util_errf(err, errlen, "invalid %s= value", p_bad ? "p" : "sp");
        return DMARC_PARSE_BAD_VALUE;
    }
    return DMARC_PARSE_OK;
}

dmarc_parse_status
dmarc_record_parse(const char *txt, size_t len, dmarc_record *out, char *err, size_t errlen)
{
    return dmarc_record_parse_method(txt, len, DMARC_RFC7489, out, err, errlen);
}

dmarc_parse_status
dmarc_record_parse_method(const char *txt, size_t len, dmarc_method method, dmarc_record *out,
                          char *err, size_t errlen)
{
    unsigned unknown = method == DMARC_RFC9989 ? T_ONLY_7489 : T_ONLY_9989;
    int p_bad = 0, sp_bad = 0, rua_ok = 0;
    dmarc_parse_status st = DMARC_PARSE_OK;
    char *copy, *save = NULL, *seg;
    unsigned seen = 0;

    dmarc_record_defaults(out);
    if (txt == NULL || len == 0)
        return util_errf(err, errlen, "empty record"), DMARC_PARSE_EMPTY;
    if (memchr(txt, '\0', len) != NULL)
        return util_errf(err, errlen, "NUL byte in record"), DMARC_PARSE_BAD_SYNTAX;
    if (!dmarc_is_dmarc_record(txt, len)) {
        size_t i = 0;
        while (i < len && dmarc_wsp((unsigned char)txt[i]))
            i++;
        if (i == len)
            return util_errf(err, errlen, "empty record"), DMARC_PARSE_EMPTY;
        return util_errf(err, errlen, "does not start with v=DMARC1"), DMARC_PARSE_BAD_VERSION;
    }
    copy = xstrndup(txt, len);
    for (seg = strtok_r(copy, ";", &save); seg != NULL && st == DMARC_PARSE_OK;
         seg = strtok_r(NULL, ";", &save)) {
        char *eq, *name, *val;
        unsigned tag = 0;

        seg = dmarc_trim(seg);
        if (*seg == '\0')
            continue;
        if ((eq = strchr(seg, '=')) == NULL) {
            util_errf(err, errlen, "tag without '='");
            st = DMARC_PARSE_BAD_SYNTAX;
            break;
        }
        *eq = '\0';
        name = dmarc_trim(seg);
        val = dmarc_trim(eq + 1);
        /* tag-name is ALPHA *(ALPHA / DIGIT / "_"); '-' is tolerated so that a
         * future or private tag cannot invalidate the whole record */
        for (size_t i = 0; name[i]; i++)
            if (!(isalpha((unsigned char)name[i]) ||
                  (i > 0 && (isdigit((unsigned char)name[i]) || name[i] == '_' || name[i] == '-'))))
                tag = ~0u;
        if (*name == '\0' || tag == ~0u) {
            util_errf(err, errlen, "invalid tag name");
            st = DMARC_PARSE_BAD_SYNTAX;
            break;
        }
        for (size_t i = 0; i < SM_ARRAY_LEN(dmarc_tags); i++)
            if (strcasecmp(name, dmarc_tags[i].name) == 0)
                tag = dmarc_tags[i].bit;
        if (tag & unknown)
            tag = 0; /* the other specification's tag */
        if (tag == 0)
            continue; /* unknown tags are ignored (section 6.3) */
        if (seen & tag) {
            util_errf(err, errlen, "duplicate tag %s", name);
            st = DMARC_PARSE_BAD_VALUE;
            break;
        }
        seen |= tag;
        if (tag == T_V)
            continue; /* checked by dmarc_is_dmarc_record(); a second v= is a duplicate */
        st = dmarc_tag_value(tag, val, out, &p_bad, &sp_bad, &rua_ok);
        if (st != DMARC_PARSE_OK)
            util_errf(err, errlen, "invalid value for %s=", name);
    }
    free(copy);
    if (st == DMARC_PARSE_OK)
        st = dmarc_finish(out, seen, p_bad, sp_bad, rua_ok, err, errlen);
    return st;
}

/* dmarc_query - look at _dmarc.<domain>: 1 found (one record), 0 nothing, -1 final status */
static int
dmarc_query(dns_cache *c, const char *domain, uint64_t deadline_ms, dmarc_lookup *out)
{
    char err[256];
    dns_txt *txt = NULL;
    dns_status st;
    size_t found = 0, idx = 0;

    snprintf(out->where, sizeof(out->where), "_dmarc.%s", domain);
    st = dns_lookup_txt(c, out->where, deadline_ms, &txt, err, sizeof(err));
    if (st == DNS_TEMPFAIL) {
        out->status = DMARC_DISC_TEMPFAIL;
        util_errf(out->detail, sizeof(out->detail), "temporary DNS failure looking up %s",
                  out->where);
        return -1;
    }
    if (st != DNS_OK)
        return 0;
    for (size_t i = 0; i < txt->n; i++)
        if (dmarc_is_dmarc_record(txt->rr[i], txt->len[i])) {
            found++;
            idx = i;
        }
    if (found == 0) {
        dns_txt_free(txt);
        return 0;
    }
    if (found > 1) {
        out->status = DMARC_DISC_MULTIPLE;
        util_errf(out->detail, sizeof(out->detail), "%zu DMARC records at %s", found, out->where);
    } else {
        out->parse_status =
            dmarc_record_parse(txt->rr[idx], txt->len[idx], &out->rec, err, sizeof(err));
        out->status = out->parse_status == DMARC_PARSE_OK ? DMARC_DISC_FOUND : DMARC_DISC_INVALID;
        if (out->status == DMARC_DISC_INVALID)
            util_errf(out->detail, sizeof(out->detail), "invalid DMARC record at %s: %s",
                      out->where, err);
    }
    dns_txt_free(txt);
    return found > 1 ? -1 : 1;
}

dmarc_disc_status
dmarc_discover(dns_cache *c, const char *from_domain, uint64_t deadline_ms, dmarc_lookup *out)
{
    int r;

    memset(out, 0, sizeof(*out));
    dmarc_record_defaults(&out->rec);
    out->pct = 100;
    if (domain_normalize(from_domain, DOMAIN_LOOSE, out->from_domain, sizeof(out->from_domain),
                         NULL, 0) < 0 ||
        domain_psl_org(out->from_domain, out->org_domain, sizeof(out->org_domain)) < 0) {
        util_errf(out->detail, sizeof(out->detail), "not a domain name");
        return out->status = DMARC_DISC_BAD_DOMAIN;
    }
    r = dmarc_query(c, out->from_domain, deadline_ms, out);
    if (r == 0 && strcmp(out->org_domain, out->from_domain) != 0) {
        out->at_org = 1;
        r = dmarc_query(c, out->org_domain, deadline_ms, out);
    }
    if (r == 0) {
        out->at_org = 0;
        snprintf(out->where, sizeof(out->where), "_dmarc.%s", out->from_domain);
        if (strcmp(out->org_domain, out->from_domain) != 0)
            util_errf(out->detail, sizeof(out->detail), "no DMARC record at _dmarc.%s or _dmarc.%s",
                      out->from_domain, out->org_domain);
        else
            util_errf(out->detail, sizeof(out->detail), "no DMARC record at _dmarc.%s",
                      out->from_domain);
        return out->status = DMARC_DISC_NONE;
    }
    if (out->status != DMARC_DISC_FOUND)
        return out->status;
    out->policy = out->rec.p;
    if (out->at_org && out->rec.sp != DMARC_POLICY_UNSPEC)
        out->policy = out->rec.sp;
    out->adkim = out->rec.adkim;
    out->aspf = out->rec.aspf;
    out->pct = out->rec.pct;
    return out->status;
}

/* dmarc_strip_dots - copy s without leading and trailing dots; -1 when nothing is left */
static int
dmarc_strip_dots(const char *s, char *out, size_t outlen)
{
    size_t n;

    if (s == NULL)
        return -1;
    while (*s == '.')
        s++;
    n = strlen(s);
    while (n > 0 && s[n - 1] == '.')
        n--;
    if (n == 0 || n >= outlen)
        return -1;
    memcpy(out, s, n);
    out[n] = '\0';
    return 0;
}

int
dmarc_aligned(const char *a, const char *b, dmarc_align_mode mode)
{
    char sa[1024], sb[1024], na[DOMAIN_MAX], nb[DOMAIN_MAX];

    if (dmarc_strip_dots(a, sa, sizeof(sa)) < 0 || dmarc_strip_dots(b, sb, sizeof(sb)) < 0)
        return 0;
    if (mode == DMARC_ALIGN_RELAXED)
        return domain_psl_same_org(sa, sb);
    if (domain_normalize(sa, DOMAIN_LOOSE, na, sizeof(na), NULL, 0) == 0 &&
        domain_normalize(sb, DOMAIN_LOOSE, nb, sizeof(nb), NULL, 0) == 0)
        return strcmp(na, nb) == 0;
    return 0;
}
