/*
 * dmarc.h - DMARC records (RFC 7489): strict parsing, policy discovery, alignment
 *
 * dmarc_record_parse() reads one TXT record.  dmarc_discover() finds the
 * policy for a From domain the way a receiver does (section 6.6.3): the
 * record at _dmarc.<From domain>, else at _dmarc.<Organizational Domain>,
 * with sp= applying when the record came from the organisational domain
 * and the From domain is below it.  dmarc_aligned() compares identifiers
 * in relaxed or strict mode.  RFC 9989 (DMARCbis): dmarc_record_parse_method()
 * reads psd=, np= and t= and ignores pct, rf and ri; dmarc_bis_discover()
 * (dmarc_bis.c) discovers by the DNS tree walk (domain_walk.h), and
 * dmarc_bis_compare() runs both discoveries for one domain.
 */
#ifndef SM_DMARC_H
#define SM_DMARC_H

#include <stddef.h>
#include <stdint.h>

#include "lib/dns.h"

typedef enum dmarc_policy {
    DMARC_POLICY_UNSPEC = 0, /* no policy (no record, or not given) */
    DMARC_POLICY_NONE,
    DMARC_POLICY_QUARANTINE,
    DMARC_POLICY_REJECT,
} dmarc_policy;

typedef enum dmarc_align_mode {
    DMARC_ALIGN_RELAXED = 0,
    DMARC_ALIGN_STRICT,
} dmarc_align_mode;

typedef enum dmarc_parse_status {
    DMARC_PARSE_OK = 0,
    DMARC_PARSE_EMPTY,       /* empty record */
    DMARC_PARSE_BAD_VERSION, /* does not start with v=DMARC1 */
    DMARC_PARSE_BAD_SYNTAX,  /* not a tag-list (tag without '=', bad tag name) */
    DMARC_PARSE_BAD_VALUE,   /* a known tag with an invalid value, or a duplicate tag */
    DMARC_PARSE_NO_P,        /* no valid p= and no usable rua= (section 6.6.3) */
} dmarc_parse_status;

/* report-option flags of fo= */
#define DMARC_FO_0 0x1
#define DMARC_FO_1 0x2
#define DMARC_FO_D 0x4
#define DMARC_FO_S 0x8

/* which specification a record is read and a policy discovered by */
typedef enum dmarc_method {
    DMARC_RFC7489 = 0, /* PSL organisational domain; pct, rf, ri */
    DMARC_RFC9989,     /* DNS tree walk; psd, np, t; pct, rf, ri ignored */
} dmarc_method;

/* psd= (RFC 9989): whether the domain is a public suffix domain */
typedef enum dmarc_psd {
    DMARC_PSD_U = 0, /* default: unknown, keep walking */
    DMARC_PSD_Y,
    DMARC_PSD_N,
} dmarc_psd;

typedef struct dmarc_record {
    dmarc_policy p;          /* DMARC_POLICY_NONE when defaulted (p_defaulted) */
    int p_defaulted;         /* p= missing or invalid, treated as none because rua= is valid */
    dmarc_policy sp;         /* DMARC_POLICY_UNSPEC when absent: p applies */
    dmarc_align_mode adkim;  /* default relaxed */
    dmarc_align_mode aspf;   /* default relaxed */
    int pct;                 /* 0..100, default 100 */
    unsigned fo;             /* DMARC_FO_* bits, default DMARC_FO_0 */
    uint32_t ri;             /* default 86400 */
    dmarc_policy np;         /* RFC 9989: UNSPEC when absent (sp, then p applies) */
    dmarc_psd psd;           /* RFC 9989: default u */
    int t;                   /* RFC 9989 t=y: testing (receivers apply the next lower policy) */
    char rua[512], ruf[512]; /* raw values (truncated), "" when absent */
} dmarc_record;

typedef enum dmarc_disc_status {
    DMARC_DISC_FOUND = 0,  /* one usable record */
    DMARC_DISC_NONE,       /* no DMARC record at the From or organisational domain */
    DMARC_DISC_MULTIPLE,   /* several v=DMARC1 records: no DMARC processing */
    DMARC_DISC_INVALID,    /* one record that does not parse: no DMARC processing */
    DMARC_DISC_TEMPFAIL,   /* DNS temporary failure: the receiver says temperror */
    DMARC_DISC_BAD_DOMAIN, /* the From domain is not a domain name */
} dmarc_disc_status;

typedef struct dmarc_lookup {
    dmarc_disc_status status;
    char from_domain[256]; /* normalised (A-labels) */
    char org_domain[256];  /* its organisational domain */
    char where[264];       /* "_dmarc.example.com" where the record was found (or failed) */
    int at_org;            /* the record came from the organisational domain */
    dmarc_record rec;      /* valid when FOUND */
    dmarc_parse_status parse_status; /* when INVALID */
    dmarc_policy policy;             /* effective: p, or sp for a subdomain at the org domain */
    dmarc_align_mode adkim, aspf;
    int pct;
    char detail[256];    /* why, for NONE/INVALID/TEMPFAIL */
    dmarc_method method; /* how it was discovered */
    int nonexistent;     /* RFC 9989: the From domain does not exist (np= applies) */
    int at_psd;          /* RFC 9989: the record is a public suffix domain's (psd=y) */
    int queries;         /* RFC 9989: the tree walk's DMARC queries */
} dmarc_lookup;

/* dmarc_record_parse - parse one record of len bytes (NUL bytes make it invalid), RFC 7489 */
dmarc_parse_status dmarc_record_parse(const char *txt, size_t len, dmarc_record *out, char *err,
                                      size_t errlen);
/*
 * dmarc_record_parse_method - the same by RFC 7489 or RFC 9989: under RFC 9989
 * pct, rf and ri are unknown tags (ignored, pct stays 100), psd, np and t are
 * read (an invalid np= is handled like an invalid sp=, an invalid psd= or t=
 * leaves the default); under RFC 7489 psd, np and t are unknown tags
 */
dmarc_parse_status dmarc_record_parse_method(const char *txt, size_t len, dmarc_method m,
                                             dmarc_record *out, char *err, size_t errlen);
/* dmarc_is_dmarc_record - 1 if txt starts with the v=DMARC1 tag (section 6.6.3 step 2) */
int dmarc_is_dmarc_record(const char *txt, size_t len);
/* dmarc_walk_reader - the RFC 9989 tree walk's record reader (lib/domain_walk.h):
 * -1 if txt is no DMARC record, else its psd= (dmarc_psd; u when it does not parse) */
int dmarc_walk_reader(const char *txt, size_t len);
/* dmarc_discover - policy discovery for from_domain; fills out (always) */
dmarc_disc_status dmarc_discover(dns_cache *c, const char *from_domain, uint64_t deadline_ms,
                                 dmarc_lookup *out);
/* dmarc_aligned - 1 if the identifiers align: strict = equal, relaxed = same org domain */
int dmarc_aligned(const char *a, const char *b, dmarc_align_mode mode);
const char *dmarc_policy_name(dmarc_policy p);
/* dmarc_policy_lower - the next lower policy (RFC 7489 6.6.4): reject -> quarantine -> none */
dmarc_policy dmarc_policy_lower(dmarc_policy p);
/*
 * dmarc_disposition - the policy a receiver applies to failing mail inside
 * pct (*strict_r) and outside it (*rest_r, the next lower policy), and a
 * sentence for both; any out-parameter may be NULL
 */
void dmarc_disposition(const dmarc_lookup *d, dmarc_policy *strict_r, dmarc_policy *rest_r,
                       char *text, size_t len);
const char *dmarc_parse_status_name(dmarc_parse_status s);
const char *dmarc_method_name(dmarc_method m);

/*
 * dmarc_bis_discover - policy discovery by RFC 9989 (dmarc_bis.c): the record
 * at _dmarc.<From domain>, else the tree walk's Organizational Domain's, else
 * its public suffix domain's (psd=y); sp= for an existing subdomain, np= (then
 * sp=, then p=) for one that does not exist (NXDOMAIN); t=y predicts the next
 * lower policy as pct=0 did.  org_domain is the walk's.  Fills out (always).
 */
dmarc_disc_status dmarc_bis_discover(dns_cache *c, const char *from_domain, uint64_t deadline_ms,
                                     dmarc_lookup *out);

/* both discoveries of one domain, for "ses-milter doctor" and the advice */
typedef struct dmarc_compare {
    dmarc_lookup rfc7489, rfc9989;
    int differ;     /* the two give a different status, record, policy or org domain */
    char text[512]; /* "" when they agree, else the difference in one sentence */
} dmarc_compare;

/* dmarc_bis_compare - discover from_domain both ways; returns out->differ */
int dmarc_bis_compare(dns_cache *c, const char *from_domain, uint64_t deadline_ms,
                      dmarc_compare *out);
/* dmarc_bis_differ - whether two lookups differ; the difference into text (may be NULL) */
int dmarc_bis_differ(const dmarc_lookup *a, const dmarc_lookup *b, char *text, size_t len);
const char *dmarc_disc_status_name(dmarc_disc_status s);

#endif
